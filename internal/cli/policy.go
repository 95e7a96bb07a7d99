package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Manage RAM policies; check and evaluate documents offline",
		Long: `Create, attach, detach, list and show RAM policies on the server, and — without
a server — check documents against rolepull's strict grammar (check) and
evaluate requests against them (eval), with exactly the rules the server
applies.`,
	}
	cmd.AddCommand(newPolicyCheckCmd(), newPolicyEvalCmd())
	addPolicyServerCmds(cmd)
	return cmd
}

func parseKind(s string) (policy.Kind, error) {
	switch strings.ToLower(s) {
	case "identity", "":
		return policy.Identity, nil
	case "trust":
		return policy.Trust, nil
	case "session":
		return policy.Session, nil
	}
	return 0, fmt.Errorf("--kind %q: want identity, trust or session", s)
}

// readInput reads a file, or stdin for "-", refusing more than limit bytes
// before reading the rest.
func readInput(cmd *cobra.Command, name string, limit int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// maxPolicyFile lets an oversized document reach the parser, which reports
// its exact size against the policy cap.
const maxPolicyFile = 1 << 20

func newPolicyCheckCmd() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "check [--kind identity|trust|session] FILE...",
		Short: "Validate policy documents and print every error with its location",
		Example: `  rolepull policy check acr-test.json
  rolepull policy check --kind trust role-acr-trust.json
  cat session.json | rolepull policy check --kind session -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := parseKind(kind)
			if err != nil {
				return err
			}
			bad := 0
			for _, name := range args {
				doc, err := readInput(cmd, name, maxPolicyFile)
				if err == nil {
					_, err = policy.Parse(k, doc)
				}
				if err != nil {
					bad++
					for _, line := range strings.Split(err.Error(), "\n") {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", name, line)
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", name)
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d documents are invalid", bad, len(args))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "identity", "document kind: identity (attached to users and roles), trust (a role's trust policy) or session (an AssumeRole Policy parameter)")
	return cmd
}

func newPolicyEvalCmd() *cobra.Command {
	var (
		files, resources, principals, contexts []string
		trustFile, sessionFile, action         string
	)
	cmd := &cobra.Command{
		Use:   "eval --policy FILE... --action ACTION --resource ARN...",
		Short: "Evaluate one request against policy documents",
		Long: `Evaluate one request the way RAM does: an explicit Deny in any policy wins, then
any Allow, otherwise the request is denied by default. A --session policy is
intersected with the identity policies (it can only narrow). With --trust, the
request is an sts:AssumeRole by the given --principal values instead.`,
		Example: `  rolepull policy eval --policy acr-test.json --action cr:PullRepository \
      --resource acs:cr:cn-hangzhou:1609982529000000:repository/cri-abc/ns/app \
      --resource acs:cr:cn-hangzhou:1609982529000000:instance/cri-abc
  rolepull policy eval --trust role-acr-trust.json \
      --principal RAM:acs:ram::1609982529000000:root --principal RAM:acs:ram::1609982529000000:role/role-assume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := map[string][]string{}
			for _, kv := range contexts {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--context %q: want KEY=VALUE", kv)
				}
				c[k] = append(c[k], v)
			}
			out := cmd.OutOrStdout()
			if trustFile != "" {
				if len(files) > 0 || sessionFile != "" {
					return errors.New("--trust evaluates a trust policy alone: drop --policy and --session")
				}
				p, err := loadPolicy(cmd, policy.Trust, trustFile)
				if err != nil {
					return err
				}
				req := policy.Request{Action: "sts:AssumeRole", Context: c}
				for _, pr := range principals {
					typ, val, ok := strings.Cut(pr, ":")
					if !ok {
						return fmt.Errorf("--principal %q: want RAM:ARN, Service:NAME or Federated:ARN", pr)
					}
					req.Principals = append(req.Principals, policy.PrincipalID{Type: typ, Value: val})
				}
				printResult(out, policy.Evaluate(req, policy.Named{Name: trustFile, Policy: p}))
				return nil
			}
			if len(files) == 0 || action == "" || len(resources) == 0 {
				return errors.New("need --policy, --action and --resource (or --trust)")
			}
			req := policy.Request{Action: action, Resources: resources, Context: c}
			var set []policy.Named
			for _, f := range files {
				p, err := loadPolicy(cmd, policy.Identity, f)
				if err != nil {
					return err
				}
				set = append(set, policy.Named{Name: f, Policy: p})
			}
			res := policy.Evaluate(req, set...)
			if sessionFile != "" {
				sp, err := loadPolicy(cmd, policy.Session, sessionFile)
				if err != nil {
					return err
				}
				res = policy.Intersect(res, policy.Evaluate(req, policy.Named{Name: sessionFile, Policy: sp}))
			}
			printResult(out, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&files, "policy", nil, "identity policy file (repeatable)")
	f.StringVar(&sessionFile, "session", "", "session policy file, intersected with the identity policies")
	f.StringVar(&trustFile, "trust", "", "trust policy file: evaluate sts:AssumeRole by --principal")
	f.StringVar(&action, "action", "", "the action, e.g. cr:PullRepository")
	f.StringArrayVar(&resources, "resource", nil, "a resource ARN of the request's resource set (repeatable)")
	f.StringArrayVar(&principals, "principal", nil, "with --trust: a principal the caller counts as, TYPE:VALUE (repeatable)")
	f.StringArrayVar(&contexts, "context", nil, "a condition key, KEY=VALUE (repeatable), e.g. acs:SourceIp=10.0.0.1")
	return cmd
}

func loadPolicy(cmd *cobra.Command, k policy.Kind, name string) (*policy.Policy, error) {
	doc, err := readInput(cmd, name, maxPolicyFile)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(k, doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

func printResult(w io.Writer, res policy.Result) {
	switch res.Decision {
	case policy.Allowed:
		fmt.Fprintln(w, "Allow")
	case policy.Denied:
		fmt.Fprintln(w, "Deny (explicit)")
	default:
		fmt.Fprintln(w, "Deny (no statement allows it)")
	}
	for _, r := range res.Deciding {
		sid := ""
		if r.Sid != "" {
			sid = " (" + r.Sid + ")"
		}
		fmt.Fprintf(w, "  decided by %s Statement[%d]%s\n", r.Policy, r.Statement, sid)
	}
}
