package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/adminapi"
	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/profile"
	"github.com/rolepull/rolepull/internal/ramapi"
	"github.com/rolepull/rolepull/internal/stsapi"
)

// --- accounts ---

func newAccountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts (operator only)"}
	var prof string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an account and print its profile (with its root AccessKey) as JSON",
		Long: `Create an account — a tenant with its own 16-digit id, root identity, users,
roles and registries — and print a profile for its root on stdout. Save it
(mode 0600): the AccessKeySecret is shown only once.`,
		Example: `  rolepull account create acct-b > acct-b.json && chmod 600 acct-b.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, p, err := loadClient(prof)
			if err != nil {
				return err
			}
			var out struct {
				Account   struct{ AccountId string }
				AccessKey struct{ AccessKeyId, AccessKeySecret string }
			}
			if err := c.Do(cmd.Context(), adminapi.Version, "CreateAccount", map[string]string{"AccountName": args[0]}, &out); err != nil {
				return err
			}
			np := profile.Profile{Endpoint: p.Endpoint, RegistryEndpoint: p.RegistryEndpoint, CAFile: p.CAFile, Region: p.Region,
				AccountID: out.Account.AccountId, AccessKeyID: out.AccessKey.AccessKeyId, AccessKeySecret: out.AccessKey.AccessKeySecret}
			_, err = cmd.OutOrStdout().Write(np.Encode())
			return err
		},
	}
	profileFlag(create, &prof)
	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Accounts struct {
					Account []struct{ AccountId, AccountName, CreateDate string }
				}
			}
			if err := call(cmd.Context(), prof, adminapi.Version, "ListAccounts", nil, &out); err != nil {
				return err
			}
			w := table(cmd.OutOrStdout(), "ACCOUNT ID", "NAME", "CREATED")
			for _, a := range out.Accounts.Account {
				fmt.Fprintf(w, "%s\t%s\t%s\n", a.AccountId, a.AccountName, a.CreateDate)
			}
			return w.Flush()
		},
	}
	profileFlag(list, &prof)
	cmd.AddCommand(create, list)
	return cmd
}

func table(w io.Writer, headers ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	return tw
}

// --- whoami ---

func newWhoamiCmd() *cobra.Command {
	var prof string
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the identity behind a profile (STS GetCallerIdentity)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out map[string]any
			if err := call(cmd.Context(), prof, stsapi.Version, "GetCallerIdentity", nil, &out); err != nil {
				return err
			}
			delete(out, "RequestId")
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	profileFlag(cmd, &prof)
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// --- roles ---

// trustFlags builds a trust policy from --trusted-service, --trusted-account
// and --trusted-role, or reads one from --trust-policy.
type trustFlags struct {
	services, accounts, roles []string
	file                      string
}

func (t *trustFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&t.services, "trusted-service", nil, "a cloud service that may assume the role, e.g. eci.aliyuncs.com (repeatable)")
	f.StringArrayVar(&t.accounts, "trusted-account", nil, "an account id whose users and roles may assume the role (repeatable)")
	f.StringArrayVar(&t.roles, "trusted-role", nil, "a role ARN whose sessions alone may assume the role (repeatable)")
	f.StringVar(&t.file, "trust-policy", "", "a trust policy document (file, or - for stdin) instead of the flags above")
}

func (t *trustFlags) document(cmd *cobra.Command) (string, error) {
	if t.file != "" {
		if len(t.services)+len(t.accounts)+len(t.roles) > 0 {
			return "", errors.New("--trust-policy replaces --trusted-service/--trusted-account/--trusted-role: give one or the other")
		}
		b, err := readInput(cmd, t.file, maxPolicyFile)
		if err != nil {
			return "", err
		}
		if _, err := policy.Parse(policy.Trust, b); err != nil {
			return "", fmt.Errorf("%s: %w", t.file, err)
		}
		return string(b), nil
	}
	if len(t.services)+len(t.accounts)+len(t.roles) == 0 {
		return "", errors.New("say who may assume the role: --trusted-service, --trusted-account, --trusted-role or --trust-policy")
	}
	principal := map[string][]string{}
	if len(t.services) > 0 {
		principal["Service"] = t.services
	}
	for _, a := range t.accounts {
		if !arn.IsAccountID(a) {
			return "", fmt.Errorf("--trusted-account %q: want a 16-digit account id", a)
		}
		principal["RAM"] = append(principal["RAM"], arn.RootARN(a))
	}
	for _, r := range t.roles {
		if _, err := arn.ParseRole(r); err != nil {
			return "", fmt.Errorf("--trusted-role: %w", err)
		}
		principal["RAM"] = append(principal["RAM"], r)
	}
	doc, err := json.Marshal(map[string]any{"Version": "1", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal,
	}}})
	return string(doc), err
}

type roleView struct {
	RoleId, RoleName, Arn, Description, AssumeRolePolicyDocument, CreateDate, UpdateDate string
	MaxSessionDuration                                                                   int
	IsServiceLinkedRole                                                                  bool
}

func newRoleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Manage RAM roles: create, trust, get, list, delete"}
	var prof string

	var trust trustFlags
	var desc string
	var maxDur int
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a role trusted by a service, an account or a role",
		Example: `  # a role ECI may assume (the seed's acr-test and role-assume)
  rolepull role create acr-test --trusted-service eci.aliyuncs.com
  # a role another account may assume (the seed's role-acr)
  rolepull role create role-acr --trusted-account 1609982529000000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := trust.document(cmd)
			if err != nil {
				return err
			}
			params := map[string]string{"RoleName": args[0], "AssumeRolePolicyDocument": doc, "Description": desc}
			if maxDur != 0 {
				params["MaxSessionDuration"] = strconv.Itoa(maxDur)
			}
			var out struct{ Role roleView }
			if err := call(cmd.Context(), prof, ramapi.Version, "CreateRole", params, &out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.Role.Arn)
			return nil
		},
	}
	trust.add(create)
	create.Flags().StringVar(&desc, "description", "", "what the role is for")
	create.Flags().IntVar(&maxDur, "max-session-duration", 0, "longest session in seconds, 3600–43200 (default 3600)")
	profileFlag(create, &prof)

	var newTrust trustFlags
	trustCmd := &cobra.Command{
		Use:   "trust NAME",
		Short: "Replace a role's trust policy",
		Example: `  # the seed's hardening: only role-assume of account A may assume role-acr
  rolepull role trust role-acr --trusted-role acs:ram::1609982529000000:role/role-assume`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := newTrust.document(cmd)
			if err != nil {
				return err
			}
			var out struct{ Role roleView }
			if err := call(cmd.Context(), prof, ramapi.Version, "UpdateRole", map[string]string{"RoleName": args[0], "NewAssumeRolePolicyDocument": doc}, &out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.Role.Arn)
			return nil
		},
	}
	newTrust.add(trustCmd)
	profileFlag(trustCmd, &prof)

	var asJSON bool
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a role: its ARN, trust policy and attached policies",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var role struct{ Role roleView }
			if err := call(cmd.Context(), prof, ramapi.Version, "GetRole", map[string]string{"RoleName": args[0]}, &role); err != nil {
				return err
			}
			var pols struct {
				Policies struct {
					Policy []struct{ PolicyName, PolicyType, AttachDate string }
				}
			}
			if err := call(cmd.Context(), prof, ramapi.Version, "ListPoliciesForRole", map[string]string{"RoleName": args[0]}, &pols); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, map[string]any{"Role": role.Role, "Policies": pols.Policies.Policy})
			}
			r := role.Role
			fmt.Fprintf(out, "Name:                %s\nARN:                 %s\nRoleId:              %s\n", r.RoleName, r.Arn, r.RoleId)
			fmt.Fprintf(out, "Description:         %s\nMaxSessionDuration:  %d\nServiceLinked:       %v\nCreated:             %s\n", r.Description, r.MaxSessionDuration, r.IsServiceLinkedRole, r.CreateDate)
			var pretty bytes.Buffer
			if json.Indent(&pretty, []byte(r.AssumeRolePolicyDocument), "  ", "  ") == nil {
				fmt.Fprintf(out, "Trust policy:\n  %s\n", pretty.String())
			}
			fmt.Fprintln(out, "Attached policies:")
			if len(pols.Policies.Policy) == 0 {
				fmt.Fprintln(out, "  (none)")
			}
			for _, p := range pols.Policies.Policy {
				fmt.Fprintf(out, "  %s (%s)\n", p.PolicyName, p.PolicyType)
			}
			return nil
		},
	}
	get.Flags().BoolVarP(&asJSON, "json", "j", false, "print JSON")
	profileFlag(get, &prof)

	list := &cobra.Command{
		Use:   "list",
		Short: "List roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := table(cmd.OutOrStdout(), "NAME", "ARN", "MAX SESSION", "CREATED")
			marker := ""
			for {
				var out struct {
					IsTruncated bool
					Marker      string
					Roles       struct{ Role []roleView }
				}
				params := map[string]string{"MaxItems": "1000"}
				if marker != "" {
					params["Marker"] = marker
				}
				if err := call(cmd.Context(), prof, ramapi.Version, "ListRoles", params, &out); err != nil {
					return err
				}
				for _, r := range out.Roles.Role {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", r.RoleName, r.Arn, r.MaxSessionDuration, r.CreateDate)
				}
				if !out.IsTruncated {
					return w.Flush()
				}
				marker = out.Marker
			}
		},
	}
	profileFlag(list, &prof)

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a role (detach its policies first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd.Context(), prof, ramapi.Version, "DeleteRole", map[string]string{"RoleName": args[0]}, nil)
		},
	}
	profileFlag(del, &prof)
	cmd.AddCommand(create, trustCmd, get, list, del)
	return cmd
}

// --- policies (server side) ---

// policyTypeFor resolves --type auto: a system policy of that name wins.
func policyTypeFor(cmd *cobra.Command, prof, name, flag string) (string, error) {
	switch strings.ToLower(flag) {
	case "system":
		return "System", nil
	case "custom":
		return "Custom", nil
	case "", "auto":
		err := call(cmd.Context(), prof, ramapi.Version, "GetPolicy", map[string]string{"PolicyName": name, "PolicyType": "System"}, nil)
		var we *openapi.Error
		if err == nil {
			return "System", nil
		}
		if errors.As(err, &we) && strings.HasPrefix(we.Code, "EntityNotExist") {
			return "Custom", nil
		}
		return "", err
	}
	return "", fmt.Errorf("--type %q: want auto, system or custom", flag)
}

func addPolicyServerCmds(cmd *cobra.Command) {
	var prof, file, desc, ptype, role, user string
	create := &cobra.Command{
		Use:     "create NAME -f FILE",
		Short:   "Create a custom policy from a JSON document",
		Example: `  rolepull policy create acr-test-pull -f acr-test-pull.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("give the document with -f FILE (or -f - for stdin)")
			}
			doc, err := readInput(cmd, file, maxPolicyFile)
			if err != nil {
				return err
			}
			if _, err := policy.Parse(policy.Identity, doc); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if err := call(cmd.Context(), prof, ramapi.Version, "CreatePolicy", map[string]string{"PolicyName": args[0], "PolicyDocument": string(doc), "Description": desc}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy %s created\n", args[0])
			return nil
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the policy document (JSON file, or - for stdin)")
	create.Flags().StringVar(&desc, "description", "", "what the policy is for")
	profileFlag(create, &prof)

	attachment := func(use, short, roleAction, userAction string) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " POLICY (--role NAME | --user NAME)",
			Short: short,
			Example: `  rolepull policy ` + use + ` AliyunSTSAssumeRoleAccess --role role-assume
  rolepull policy ` + use + ` acr-test-pull --role acr-test`,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if (role == "") == (user == "") {
					return errors.New("give exactly one of --role NAME or --user NAME")
				}
				t, err := policyTypeFor(cmd, prof, args[0], ptype)
				if err != nil {
					return err
				}
				action, params := roleAction, map[string]string{"PolicyName": args[0], "PolicyType": t, "RoleName": role}
				if user != "" {
					action, params = userAction, map[string]string{"PolicyName": args[0], "PolicyType": t, "UserName": user}
				}
				return call(cmd.Context(), prof, ramapi.Version, action, params, nil)
			},
		}
		c.Flags().StringVar(&role, "role", "", "the role")
		c.Flags().StringVar(&user, "user", "", "the RAM user")
		c.Flags().StringVar(&ptype, "type", "auto", "policy type: auto (system if one has that name), system or custom")
		profileFlag(c, &prof)
		return c
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List system and custom policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Policies struct {
					Policy []struct{ PolicyName, PolicyType, DefaultVersion, Description string }
				}
			}
			params := map[string]string{"MaxItems": "1000"}
			if ptype != "" && ptype != "auto" {
				params["PolicyType"] = ptype
			}
			if err := call(cmd.Context(), prof, ramapi.Version, "ListPolicies", params, &out); err != nil {
				return err
			}
			w := table(cmd.OutOrStdout(), "NAME", "TYPE", "VERSION", "DESCRIPTION")
			for _, p := range out.Policies.Policy {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.PolicyName, p.PolicyType, p.DefaultVersion, p.Description)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&ptype, "type", "", "System or Custom (default both)")
	profileFlag(list, &prof)

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a policy's default document",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := policyTypeFor(cmd, prof, args[0], ptype)
			if err != nil {
				return err
			}
			var out struct {
				Policy               struct{ PolicyName, PolicyType, DefaultVersion string }
				DefaultPolicyVersion struct{ PolicyDocument string }
			}
			if err := call(cmd.Context(), prof, ramapi.Version, "GetPolicy", map[string]string{"PolicyName": args[0], "PolicyType": t}, &out); err != nil {
				return err
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, []byte(out.DefaultPolicyVersion.PolicyDocument), "", "  "); err != nil {
				pretty.WriteString(out.DefaultPolicyVersion.PolicyDocument)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s, %s)\n%s\n", out.Policy.PolicyName, out.Policy.PolicyType, out.Policy.DefaultVersion, pretty.String())
			return nil
		},
	}
	get.Flags().StringVar(&ptype, "type", "auto", "policy type: auto, system or custom")
	profileFlag(get, &prof)

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a custom policy (detach it first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd.Context(), prof, ramapi.Version, "DeletePolicy", map[string]string{"PolicyName": args[0]}, nil)
		},
	}
	profileFlag(del, &prof)

	cmd.AddCommand(create,
		attachment("attach", "Attach a policy to a role or user", "AttachPolicyToRole", "AttachPolicyToUser"),
		attachment("detach", "Detach a policy from a role or user", "DetachPolicyFromRole", "DetachPolicyFromUser"),
		list, get, del)
}

// --- users ---

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage RAM users and their AccessKeys"}
	var prof string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a RAM user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd.Context(), prof, ramapi.Version, "CreateUser", map[string]string{"UserName": args[0]}, nil)
		},
	}
	profileFlag(create, &prof)
	key := &cobra.Command{
		Use:   "create-key NAME",
		Short: "Create an AccessKey for a user and print the user's profile as JSON (the secret is shown once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, p, err := loadClient(prof)
			if err != nil {
				return err
			}
			var out struct {
				AccessKey struct{ AccessKeyId, AccessKeySecret string }
			}
			if err := c.Do(cmd.Context(), ramapi.Version, "CreateAccessKey", map[string]string{"UserName": args[0]}, &out); err != nil {
				return err
			}
			p.AccessKeyID, p.AccessKeySecret = out.AccessKey.AccessKeyId, out.AccessKey.AccessKeySecret
			_, err = cmd.OutOrStdout().Write(p.Encode())
			return err
		},
	}
	profileFlag(key, &prof)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a RAM user (delete its keys and detach its policies first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd.Context(), prof, ramapi.Version, "DeleteUser", map[string]string{"UserName": args[0]}, nil)
		},
	}
	profileFlag(del, &prof)
	cmd.AddCommand(create, key, del)
	return cmd
}

// --- sts ---

func newAssumeRoleCmd() *cobra.Command {
	var prof, session, policyFile string
	var duration int
	cmd := &cobra.Command{
		Use:   "assume-role ROLE_ARN --session NAME",
		Short: "Assume a role and print the temporary credentials as a profile (JSON)",
		Long: `Call STS AssumeRole with the profile's identity and print a profile holding the
session's temporary credentials. Feed it back with --profile to act as the role.
Root profiles cannot assume roles; use a RAM user's profile.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, p, err := loadClient(prof)
			if err != nil {
				return err
			}
			params := map[string]string{"RoleArn": args[0], "RoleSessionName": session}
			if duration != 0 {
				params["DurationSeconds"] = strconv.Itoa(duration)
			}
			if policyFile != "" {
				doc, err := readInput(cmd, policyFile, maxPolicyFile)
				if err != nil {
					return err
				}
				params["Policy"] = string(doc)
			}
			var out struct {
				Credentials     struct{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration string }
				AssumedRoleUser struct{ Arn string }
			}
			if err := c.Do(cmd.Context(), stsapi.Version, "AssumeRole", params, &out); err != nil {
				return err
			}
			role, err := arn.ParsePrincipal(out.AssumedRoleUser.Arn)
			if err != nil {
				return fmt.Errorf("AssumeRole returned %q: %w", out.AssumedRoleUser.Arn, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "assumed %s until %s\n", out.AssumedRoleUser.Arn, out.Credentials.Expiration)
			np := profile.Profile{Endpoint: p.Endpoint, RegistryEndpoint: p.RegistryEndpoint, CAFile: p.CAFile, Region: p.Region, AccountID: role.Account,
				AccessKeyID: out.Credentials.AccessKeyId, AccessKeySecret: out.Credentials.AccessKeySecret,
				SecurityToken: out.Credentials.SecurityToken, Expiration: out.Credentials.Expiration}
			_, err = cmd.OutOrStdout().Write(np.Encode())
			return err
		},
	}
	cmd.Flags().StringVar(&session, "session", "rolepull-cli", "the role session name (2–64 of A-Z a-z 0-9 . @ _ -)")
	cmd.Flags().IntVar(&duration, "duration", 0, "session length in seconds, 900..the role's maximum (default 3600)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "a session policy file that narrows the session")
	profileFlag(cmd, &prof)
	return cmd
}
