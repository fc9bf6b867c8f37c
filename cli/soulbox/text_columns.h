// Rows of text as aligned columns (`soulbox sandbox list`): each column as
// wide as its widest cell, two spaces between columns, whatever the cells
// hold.
#pragma once
#include <string>
#include <vector>

namespace soulbox::cli {

// One line per row; the last cell of a line is not padded. Widths count
// bytes (the cells are ids, names and times).
std::string text_columns(const std::vector<std::vector<std::string>>& rows);

}  // namespace soulbox::cli
