#include "tests/support/bpf_sim.h"

#include <cstring>

namespace soulbox::test {
namespace {

std::optional<uint32_t> load_word(const seccomp_data& data, uint32_t offset) {
  if (offset % 4 != 0 || offset + 4 > sizeof(seccomp_data)) return std::nullopt;
  uint32_t word;
  std::memcpy(&word, reinterpret_cast<const char*>(&data) + offset, 4);
  return word;
}

std::optional<uint32_t> alu(uint16_t op, uint32_t a, uint32_t operand) {
  switch (op) {
    case BPF_ADD:
      return a + operand;
    case BPF_SUB:
      return a - operand;
    case BPF_MUL:
      return a * operand;
    case BPF_DIV:
      return operand == 0 ? std::nullopt : std::optional<uint32_t>(a / operand);
    case BPF_MOD:
      return operand == 0 ? std::nullopt : std::optional<uint32_t>(a % operand);
    case BPF_AND:
      return a & operand;
    case BPF_OR:
      return a | operand;
    case BPF_XOR:
      return a ^ operand;
    case BPF_LSH:
      return operand >= 32 ? 0 : a << operand;
    case BPF_RSH:
      return operand >= 32 ? 0 : a >> operand;
    case BPF_NEG:
      return uint32_t(-int64_t(a));
    default:
      return std::nullopt;
  }
}

std::optional<bool> jump_taken(uint16_t op, uint32_t a, uint32_t operand) {
  switch (op) {
    case BPF_JEQ:
      return a == operand;
    case BPF_JGT:
      return a > operand;
    case BPF_JGE:
      return a >= operand;
    case BPF_JSET:
      return (a & operand) != 0;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<uint32_t> run_seccomp_bpf(const std::vector<sock_filter>& program, const seccomp_data& data) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& in = program[pc];
    const uint32_t operand = BPF_SRC(in.code) == BPF_X ? x : in.k;
    switch (BPF_CLASS(in.code)) {
      case BPF_LD: {
        std::optional<uint32_t> v;
        if (in.code == (BPF_LD | BPF_W | BPF_ABS))
          v = load_word(data, in.k);
        else if (in.code == (BPF_LD | BPF_IMM))
          v = in.k;
        else if (in.code == (BPF_LD | BPF_MEM) && in.k < BPF_MEMWORDS)
          v = mem[in.k];
        else if (in.code == (BPF_LD | BPF_W | BPF_LEN))
          v = sizeof(seccomp_data);
        if (!v) return std::nullopt;
        a = *v;
        break;
      }
      case BPF_LDX:
        if (in.code == (BPF_LDX | BPF_IMM))
          x = in.k;
        else if (in.code == (BPF_LDX | BPF_MEM) && in.k < BPF_MEMWORDS)
          x = mem[in.k];
        else if (in.code == (BPF_LDX | BPF_W | BPF_LEN))
          x = sizeof(seccomp_data);
        else
          return std::nullopt;
        break;
      case BPF_ST:
      case BPF_STX:
        if (in.k >= BPF_MEMWORDS) return std::nullopt;
        mem[in.k] = BPF_CLASS(in.code) == BPF_ST ? a : x;
        break;
      case BPF_ALU: {
        auto v = alu(BPF_OP(in.code), a, operand);
        if (!v) return std::nullopt;
        a = *v;
        break;
      }
      case BPF_JMP: {
        if (BPF_OP(in.code) == BPF_JA) {
          pc += in.k;
          break;
        }
        auto taken = jump_taken(BPF_OP(in.code), a, operand);
        if (!taken) return std::nullopt;
        pc += *taken ? in.jt : in.jf;
        break;
      }
      case BPF_RET:
        if (BPF_RVAL(in.code) == BPF_K) return in.k;
        if (BPF_RVAL(in.code) == BPF_A) return a;
        return std::nullopt;
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX)
          x = a;
        else if (BPF_MISCOP(in.code) == BPF_TXA)
          a = x;
        else
          return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;  // fell off the end: the kernel rejects such programs
}

}  // namespace soulbox::test
