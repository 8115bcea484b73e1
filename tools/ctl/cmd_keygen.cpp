// keygen NAME: a CURVE key pair for the gateway (security.secret_key_file)
// or for a platform client (its public key goes on security.clients).
#include <memory>

#include <fmt/format.h>

#include "gateway/bus/curve.h"
#include "tools/ctl/ctl.h"

namespace vcgate::ctl {

void addKeygenCommand(CLI::App& app, Ctl& ctl) {
  struct Args {
    std::string base;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* keygen = app.add_subcommand("keygen", "Make a CURVE key pair: NAME.key (public) and NAME.key_secret (0600)");
  keygen->add_option("name", args->base, "Path and name without extension, e.g. /etc/vcgate/keys/gateway")->required();
  keygen->add_flag("--force", args->force, "Replace an existing key pair (clients holding the old key lose access)");
  keygen->footer(
      "The gateway's own pair: point security.secret_key_file at NAME.key_secret and give NAME.key to the\n"
      "platform. A platform client's pair: put the content of NAME.key on the gateway's security.clients\n"
      "list with a role, and give NAME.key_secret to the client (vcgate-sub --key, vcgatectl --key).\n"
      "The secret file is written with mode 0600 through a temporary file; an existing pair is never\n"
      "overwritten without --force.\n"
      "JSON: {public_key, public_file, secret_file}.\n"
      "Exit codes: 0 written, 1 not written (exists, or the directory is not writable), 2 usage.");
  keygen->callback([&ctl, args] {
    const auto keys = bus::generateCurveKeyPair();
    if (auto written = bus::writeKeyPair(args->base, keys, args->force); !written) {
      ctl.exit_code = reportError(ctl.options, written.error());
      return;
    }
    if (ctl.options.json) {
      printJson({{"public_key", keys.public_key},
                 {"public_file", args->base + ".key"},
                 {"secret_file", args->base + ".key_secret"}});
    } else {
      fmt::print("public key  {}\nwritten to  {}.key (share it) and {}.key_secret (mode 0600, keep it)\n",
                 keys.public_key, args->base, args->base);
    }
    ctl.exit_code = kExitOk;
  });
}

}  // namespace vcgate::ctl
