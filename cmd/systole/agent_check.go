package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/agents/check"
)

// agentCheckOptions are the flags of `systole agent check`.
type agentCheckOptions struct {
	ocfRoot  string
	instance string
	timeout  time.Duration
}

// AddFlags registers the options on a flag set.
func (o *agentCheckOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ocfRoot, "ocf-root", "", "OCF root (default $OCF_ROOT, else /usr/lib/ocf)")
	fs.StringVarP(&o.instance, "name", "n", "systole-check", "resource instance name (OCF_RESOURCE_INSTANCE)")
	fs.DurationVar(&o.timeout, "timeout", 0, "timeout of every action (default: from the agent's meta-data, else 20s)")
}

func newAgentCheckCommand() *cobra.Command {
	o := &agentCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check AGENT [name=value...]",
		Short: "Check that an OCF resource agent follows the OCF resource agent API",
		Long: `Runs an OCF resource agent through its life cycle and checks every exit code,
as resource-agents' ocf-tester does: meta-data (validated against the OCF RA
API 1.1 rules), validate-all, monitor while stopped (7), start, monitor (0),
start again, promote/demote and migrate_to/migrate_from when advertised,
reload and notify when advertised, stop, stop again, monitor (7).

AGENT is ocf:PROVIDER:TYPE (looked up under OCF_ROOT/resource.d) or a path to
the agent file. Parameters are given as name=value. The command exits
non-zero when any step fails.`,
		Example: `  OCF_ROOT=/usr/lib/ocf systole agent check ocf:heartbeat:Dummy
  systole agent check ocf:systole:IPaddr ip=192.0.2.10 cidr_netmask=24 nic=eth1
  systole agent check ./my-agent state=/tmp/my-agent.state`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]string{}
			for _, kv := range args[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("parameter %q is not name=value", kv)
				}
				params[k] = v
			}
			rep, err := check.Run(cmd.Context(), check.Options{
				Agent: args[0], Params: params, OCFRoot: o.ocfRoot, Instance: o.instance,
				Timeout: o.timeout, Out: cmd.OutOrStdout(),
			})
			if err != nil {
				return err
			}
			if !rep.Passed() {
				return fmt.Errorf("agent %s failed %d check(s)", args[0], rep.Failures())
			}
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
