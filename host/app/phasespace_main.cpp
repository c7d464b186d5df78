// phasespace: the command-line program (placeholder main until the study driver lands).
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--version") {
    std::cout << "phasespace " << PHASESPACE_VERSION << "\n";
    return 0;
  }
  std::cerr << "usage: phasespace --version\n";
  return 2;
}
