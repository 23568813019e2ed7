// faultline: the command-line program. Everything it does is in the table of
// commands.cc; this only hands it the arguments.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return faultline::cli::Main(faultline::cli::Commands(), args, std::cout, std::cerr);
}
