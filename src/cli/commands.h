// The faultline commands: the one table, and the commands built so far.
//
// Each built command has its own file (demo.cc, faults.cc, ...) and is
// declared here for the table in commands.cc. A command not built yet has
// a row with no function: the help marks it, and running it says so.
//
// Thread-safety: as cli.h.
#ifndef FAULTLINE_CLI_COMMANDS_H_
#define FAULTLINE_CLI_COMMANDS_H_

#include <span>

#include "cli/cli.h"

namespace faultline::cli {

// Every command of DESIGN.md's "The command line", in its order.
std::span<const Command> Commands();

int RunDemo(const Context& ctx);          // demo.cc
int RunFaultsCheck(const Context& ctx);   // faults.cc
int RunLambdaServe(const Context& ctx);   // lambda_serve.cc
int RunLambdaInvoke(const Context& ctx);  // lambda_client.cc
int RunLambdaEnv(const Context& ctx);     // lambda_client.cc
int RunLoad(const Context& ctx);          // load.cc
int RunExperiment(const Context& ctx);    // experiment.cc (`faultline run`)
int RunValidate(const Context& ctx);      // experiment.cc
int RunRollback(const Context& ctx);      // experiment.cc
int RunReport(const Context& ctx);        // report.cc
int RunExtension(const Context& ctx);     // extension.cc
int RunLayerBuild(const Context& ctx);    // extension.cc
int RunFaultsList(const Context& ctx);    // extension.cc (the control endpoint's client)
int RunFaultsSet(const Context& ctx);     // extension.cc
int RunFaultsClear(const Context& ctx);   // extension.cc

}  // namespace faultline::cli

#endif  // FAULTLINE_CLI_COMMANDS_H_
