# SoulBox's Ruby kernel: one persistent binding per code context; the last
# expression's value (inspect) as the result. Protocol: kernels/README.md.
require 'json'

$stdout.sync = true
$stderr.sync = true
EVENTS = IO.new(3, 'w')
EVENTS.sync = true
REQUESTS = IO.new(4, 'r')
CELL_BINDING = TOPLEVEL_BINDING.dup

def soulbox_emit(kind, payload = nil)
  EVENTS.write(payload.nil? ? "#{kind}\n" : "#{kind} #{JSON.generate(payload)}\n")
end

def soulbox_field
  field = REQUESTS.gets("\0")
  exit(0) if field.nil?
  field.chomp("\0").force_encoding('UTF-8').scrub
rescue Interrupt
  retry # an interrupt between cells has nothing to stop
end

def soulbox_execute(count, code, env)
  saved = env.keys.to_h { |k| [k, ENV[k]] }
  env.each { |k, v| ENV[k] = v }
  begin
    value = eval(code, CELL_BINDING, "(cell-#{count})", 1)
    soulbox_emit('result', { 'text' => value.inspect, 'is_main_result' => true }) unless value.nil?
  rescue Exception => e # Interrupt and SystemExit included
    name = e.is_a?(Interrupt) ? 'KeyboardInterrupt' : e.class.name
    soulbox_emit('error', { 'name' => name, 'value' => e.message, 'traceback' => e.full_message(highlight: false) })
  ensure
    saved.each { |k, v| ENV[k] = v }
  end
  soulbox_emit('end')
end

trap('INT') { raise Interrupt }
soulbox_emit('ready')
count = 0
loop do
  op = soulbox_field
  code = soulbox_field
  env = {}
  soulbox_field.to_i.times do
    key, value = soulbox_field.split('=', 2)
    env[key] = value.to_s
  end
  next unless op == 'x'

  count += 1
  soulbox_execute(count, code, env)
end
