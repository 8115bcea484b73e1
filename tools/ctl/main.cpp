// vcgatectl: the field technician's tool. Only composes: the global options,
// then each command group registers its subcommands (ctl.h lists them).
#include <CLI/CLI.hpp>

#include "tools/ctl/ctl.h"

int main(int argc, char** argv) {
  using namespace vcgate::ctl;
  CLI::App app{"vcgatectl: look after a vcgate gateway from the box's shell"};
  app.require_subcommand(1);
  // Global options may also follow the command: vcgatectl status --json.
  app.fallthrough();
  Ctl ctl;
  app.add_option("-c,--config", ctl.options.config,
                 std::string("Read the control endpoint (and, for bundle, the config) from this file (default ") +
                     kDefaultConfig + ")");
  app.add_option("-e,--endpoint", ctl.options.endpoint,
                 "Control endpoint, e.g. ipc:///run/vcgate/control.sock (also $VCGATE_CONTROL)");
  auto* key = app.add_option("--key", ctl.options.key_file,
                              "CURVE: this client's secret key file (NAME.key_secret from 'vcgatectl keygen'), for "
                              "-e tcp://... of a gateway with security.curve")
                  ->type_name("FILE");
  auto* server_key = app.add_option("--server-key", ctl.options.server_key,
                                    "CURVE: the gateway's public key: its .key file or the 40-character key")
                         ->type_name("FILE|KEY");
  key->needs(server_key);
  server_key->needs(key);
  app.add_flag("--json", ctl.options.json, "Print one JSON object (per line) instead of text");
  app.add_option("--timeout-ms", ctl.options.timeout_ms, "How long to wait for the gateway (default 3000)")
      ->check(CLI::Range(100, 60000));
  app.add_flag_callback(
      "-V,--version",
      [] {
        std::printf("vcgatectl %s\n", VCGATE_VERSION);
        throw CLI::Success();
      },
      "Print the version and exit");
  app.footer(
      "Exit codes: 0 ok, 1 refused or problem found, 2 usage error, 3 gateway not reachable\n"
      "(probe: 4 wrong password, 5 unreachable or timeout, 6 no video track). "
      "See docs/operations.md.");

  addStatusCommands(app, ctl);
  addCameraCommands(app, ctl);
  addAlarmCommands(app, ctl);
  addLiveCommands(app, ctl);
  addProbeCommand(app, ctl);
  addConfigCommands(app, ctl);
  addBusCommands(app, ctl);
  addBundleCommand(app, ctl);
  addClipCommands(app, ctl);
  addKeygenCommand(app, ctl);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int exit = app.exit(e);
    return exit == 0 ? kExitOk : kExitUsage;
  }
  return ctl.exit_code;
}
