#include "engine/cli/commands.h"

int main(int argc, char** argv) { return dllm::cli::run_main(argc, argv); }
