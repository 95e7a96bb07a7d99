package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newCRCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cr",
		Short: "Container Registry: instances, network access, namespaces, repositories, push and pull",
		Long: `Manage Container Registry instances through the Container Registry OpenAPI
(2018-12-01), as any SDK would: instances and their domains, network access
(internet on/off with a CIDR allow-list, bound VPCs), custom domains,
namespaces and repositories; push and pull images by instance domain; and
mint the short-lived passwords OCI clients log in with.

Instance ids name an instance in whichever region it is in; only
` + "`cr instance create`" + ` takes a region (--region, default the profile's).

Every push and pull is decided by RAM: the identity behind the profile (or
behind a temporary password) needs cr:PushRepository or cr:PullRepository,
allowed on the repository's ARN or the instance's (an explicit Deny on
either wins); deleting a tag or manifest needs cr:DeleteRepositoryTag, and
the catalog cr:ListRepository on the instance.`,
		Example: `  ID=$(rolepull cr instance create test1 --type Standard | head -n 1)
  rolepull cr internet enable $ID
  rolepull cr acl add $ID 127.0.0.0/16 --comment "this machine"
  rolepull cr namespace create $ID demo --auto-create-repo
  rolepull cr push ./app-layout test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:1.0
  rolepull cr tags $ID demo/app`,
	}
	cmd.AddCommand(newCRInstanceCmd(), newCRInternetCmd(), newCRACLCmd(), newCRVPCLinkCmd(), newCRDomainCmd(),
		newCRNamespaceCmd(), newCRRepoCmd(), newCRTagsCmd(), newCRLoginPasswordCmd(), newCRPushCmd(), newCRPullCmd(), newCRSampleImageCmd())
	return cmd
}

// instanceTypes are CreateInstance's InstanceType values, by lower-case name.
var instanceTypes = map[string]string{"basic": "Basic", "standard": "Standard", "advanced": "Advanced", "personal": "Personal"}

func newCRInstanceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "instance", Short: "Create, list, show and delete registry instances"}
	var prof, typ, region string
	create := &cobra.Command{
		Use:   "create NAME --type Basic|Standard|Advanced|Personal",
		Short: "Create a registry instance and print its id and domains",
		Long: `Create a Container Registry instance in a region (--region, default the
profile's) and print its id on the first line, then each of its domains with
the network it reaches.

Enterprise editions (Basic, Standard, Advanced) take a NAME (3–30 of a-z 0-9 -)
and are reached at NAME-registry.REGION.cr.aliyuncs.com. They start closed to
every network: open the internet endpoint with ` + "`cr internet enable`" + ` and
` + "`cr acl add`" + `, or bind a VPC to the -vpc domain with ` + "`cr vpc link`" + `.

A Personal instance (one per account and region) is named by its id, takes
no NAME, and is open to every address.`,
		Example: `  rolepull cr instance create test1 --type Standard
  ID=$(rolepull cr instance create test1 --type Standard | head -n 1)
  rolepull cr instance create --type Personal --region cn-shanghai`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, ok := instanceTypes[strings.ToLower(typ)]
			switch {
			case typ == "":
				return errors.New("give the edition with --type Basic, Standard or Advanced (Enterprise) or --type Personal")
			case !ok:
				return fmt.Errorf("--type %q: want Basic, Standard or Advanced (Enterprise editions) or Personal", typ)
			case t != "Personal" && len(args) == 0:
				return fmt.Errorf("an Enterprise instance (--type %s) needs a NAME, 3–30 of a-z 0-9 -: rolepull cr instance create NAME --type %s", t, t)
			case t == "Personal" && len(args) == 1:
				return fmt.Errorf("a Personal instance is named by its id: drop NAME %q", args[0])
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if region == "" {
				region = a.p.Region
			}
			params := map[string]string{"InstanceType": t, "RegionId": region}
			if len(args) == 1 {
				params["InstanceName"] = args[0]
			}
			var out struct{ InstanceId string }
			if err := a.do(cmd.Context(), "CreateInstance", params, &out); err != nil {
				return err
			}
			internet, vpc, err := a.endpoints(cmd.Context(), out.InstanceId)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, out.InstanceId)
			for _, e := range []crEndpoint{internet, vpc} {
				for _, d := range e.Domains {
					fmt.Fprintf(w, "  %s (%s)\n", d.Domain, strings.ToLower(e.EndpointType))
				}
			}
			return nil
		},
	}
	create.Flags().StringVar(&typ, "type", "", "edition: Basic, Standard, Advanced (Enterprise) or Personal")
	create.Flags().StringVar(&region, "region", "", "region of the instance, such as cn-hangzhou (default the profile's)")
	profileFlag(create, &prof)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's instances in every region",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			insts, err := a.listInstances(cmd.Context())
			if err != nil {
				return err
			}
			w := table(cmd.OutOrStdout(), "INSTANCE ID", "NAME", "SPECIFICATION", "REGION", "STATUS", "CREATED")
			for _, i := range insts {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", i.InstanceId, i.InstanceName, i.InstanceSpecification, i.RegionId, i.InstanceStatus, millisTime(i.CreateTime))
			}
			return w.Flush()
		},
	}
	profileFlag(list, &prof)

	var asJSON bool
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show an instance: specification, domains, internet access and allow-list, bound VPCs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			ctx, id := cmd.Context(), args[0]
			var inst struct {
				InstanceId, InstanceName, InstanceSpecification, InstanceStatus string
				CreateTime, ModifiedTime                                        int64
			}
			if err := a.do(ctx, "GetInstance", map[string]string{"InstanceId": id}, &inst); err != nil {
				return err
			}
			internet, vpc, err := a.endpoints(ctx, id)
			if err != nil {
				return err
			}
			region := ""
			insts, err := a.listInstances(ctx)
			if err != nil {
				return err
			}
			for _, i := range insts {
				if i.InstanceId == inst.InstanceId {
					region = i.RegionId
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, map[string]any{
					"InstanceId": inst.InstanceId, "InstanceName": inst.InstanceName, "InstanceSpecification": inst.InstanceSpecification,
					"InstanceStatus": inst.InstanceStatus, "RegionId": region, "CreateTime": millisTime(inst.CreateTime),
					"Endpoints": []crEndpoint{internet, vpc},
				})
			}
			fmt.Fprintf(out, "Instance:        %s\nName:            %s\nSpecification:   %s\nRegion:          %s\nStatus:          %s\nCreated:         %s\n",
				inst.InstanceId, inst.InstanceName, inst.InstanceSpecification, region, inst.InstanceStatus, millisTime(inst.CreateTime))
			fmt.Fprintln(out, "Domains:")
			w := table(out, "  DOMAIN", "TYPE", "NETWORK")
			for _, e := range []crEndpoint{internet, vpc} {
				for _, d := range e.Domains {
					fmt.Fprintf(w, "  %s\t%s\t%s\n", d.Domain, d.Type, strings.ToLower(e.EndpointType))
				}
			}
			w.Flush()
			writeInternet(out, id, internet)
			writeVPCs(out, vpc)
			return nil
		},
	}
	get.Flags().BoolVarP(&asJSON, "json", "j", false, "print JSON")
	profileFlag(get, &prof)

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an instance that holds no repositories (its namespaces go with it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), "DeleteInstance", map[string]string{"InstanceId": args[0]}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "instance %s deleted\n", args[0])
			return nil
		},
	}
	profileFlag(del, &prof)
	cmd.AddCommand(create, list, get, del)
	return cmd
}

// writeInternet describes the internet endpoint: on or off, and who it admits.
func writeInternet(out io.Writer, id string, e crEndpoint) {
	state := "off"
	if e.Enable {
		state = "on"
	}
	switch {
	case !e.AclEnable:
		fmt.Fprintf(out, "Internet access: %s (no allow-list: every address is admitted)\n", state)
		return
	case len(e.AclEntries) == 0 && e.Enable:
		fmt.Fprintf(out, "Internet access: on, but the allow-list is empty, so no address is admitted (rolepull cr acl add %s CIDR)\n", id)
		return
	case len(e.AclEntries) == 0:
		fmt.Fprintf(out, "Internet access: off; allow-list: (empty)\n")
		return
	}
	fmt.Fprintf(out, "Internet access: %s; allow-list:\n", state)
	w := table(out, "  CIDR", "COMMENT")
	for _, x := range e.AclEntries {
		fmt.Fprintf(w, "  %s\t%s\n", x.Entry, x.Comment)
	}
	w.Flush()
}

// writeVPCs lists the VPCs the -vpc domain admits.
func writeVPCs(out io.Writer, e crEndpoint) {
	if len(e.LinkedVpcs) == 0 {
		fmt.Fprintln(out, "Linked VPCs:     (none)")
		return
	}
	fmt.Fprintln(out, "Linked VPCs:")
	w := table(out, "  VPC ID", "VSWITCH ID", "ADDRESS")
	for _, l := range e.LinkedVpcs {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", l.VpcId, l.VswitchId, l.Ip)
	}
	w.Flush()
}

func newCRInternetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "internet",
		Short: "Turn an instance's internet endpoint on or off",
		Long: `Turn the internet endpoint of an Enterprise instance on or off: its public and
custom domains. While it is on, it admits only the addresses of its
allow-list (` + "`cr acl add`" + `); while it is off, every connection to those
domains is reset. A closed network is a network error to clients, never a 401.`,
	}
	var prof string
	for _, on := range []bool{true, false} {
		verb, state := "enable", "on"
		if !on {
			verb, state = "disable", "off"
		}
		c := &cobra.Command{
			Use:   verb + " ID",
			Short: "Turn internet access " + state,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				a, err := loadCR(prof)
				if err != nil {
					return err
				}
				id := args[0]
				if err := a.do(cmd.Context(), "UpdateInstanceEndpointStatus", map[string]string{
					"InstanceId": id, "EndpointType": "internet", "Enable": strconv.FormatBool(on)}, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "internet access of %s is %s\n", id, state)
				if on {
					internet, _, err := a.endpoints(cmd.Context(), id)
					if err == nil && internet.AclEnable && len(internet.AclEntries) == 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "note: the allow-list is empty, so no address is admitted yet: rolepull cr acl add %s CIDR\n", id)
					}
				}
				return nil
			},
		}
		profileFlag(c, &prof)
		cmd.AddCommand(c)
	}
	return cmd
}

func newCRACLCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Edit the allow-list of an instance's internet endpoint",
		Long: `Add or remove CIDR blocks (or single addresses) on the allow-list of an
Enterprise instance's internet endpoint. The list applies while internet
access is on (` + "`cr internet enable`" + `). A client on this machine connects from
127.0.0.1; VPC addresses (127.11.0.0/16 and up) reach the -vpc domain instead.`,
	}
	var prof, comment string
	add := &cobra.Command{
		Use:     "add ID CIDR",
		Short:   "Admit a CIDR block to the internet endpoint",
		Example: `  rolepull cr acl add cri-0123456789abcdef 127.0.0.0/16 --comment "this machine"`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			id, entry := args[0], args[1]
			params := map[string]string{"InstanceId": id, "EndpointType": "internet", "Entry": entry}
			if comment != "" {
				params["Comment"] = comment
			}
			if err := a.do(cmd.Context(), "CreateInstanceEndpointAclPolicy", params, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s admits %s on its internet endpoint\n", id, entry)
			if internet, _, err := a.endpoints(cmd.Context(), id); err == nil && !internet.Enable {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: internet access of %s is off; the allow-list applies once it is on: rolepull cr internet enable %s\n", id, id)
			}
			return nil
		},
	}
	add.Flags().StringVar(&comment, "comment", "", "what the entry is for")
	profileFlag(add, &prof)
	remove := &cobra.Command{
		Use:   "remove ID CIDR",
		Short: "Remove a CIDR block from the allow-list",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), "DeleteInstanceEndpointAclPolicy", map[string]string{"InstanceId": args[0], "EndpointType": "internet", "Entry": args[1]}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s no longer admits %s\n", args[0], args[1])
			return nil
		},
	}
	profileFlag(remove, &prof)
	cmd.AddCommand(add, remove)
	return cmd
}

func newCRVPCLinkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vpc",
		Short: "Bind VPCs to an instance's -vpc domain",
		Long: `Bind a VPC (through one of its vSwitches) to an Enterprise instance: its -vpc
domain then admits connections from that VPC's addresses, and only from the
VPCs bound to it. Create VPCs with ` + "`rolepull vpc create`" + `.`,
	}
	var prof, vpc, vsw string
	link := &cobra.Command{
		Use:     "link ID --vpc VPC_ID --vswitch VSWITCH_ID",
		Short:   "Bind a VPC to the instance's -vpc domain",
		Example: `  rolepull cr vpc link cri-0123456789abcdef --vpc vpc-abc --vswitch vsw-def`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vpc == "" || vsw == "" {
				return errors.New("give --vpc VPC_ID and --vswitch VSWITCH_ID (see `rolepull vpc list` and `rolepull vpc vswitch list VPC_ID`)")
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			id := args[0]
			if err := a.do(cmd.Context(), "CreateInstanceVpcEndpointLinkedVpc", map[string]string{"InstanceId": id, "VpcId": vpc, "VswitchId": vsw}, nil); err != nil {
				return err
			}
			var out struct{ LinkedVpcs []crLinkedVPC }
			if err := a.do(cmd.Context(), "GetInstanceVpcEndpoint", map[string]string{"InstanceId": id}, &out); err != nil {
				return err
			}
			ip := "?"
			for _, l := range out.LinkedVpcs {
				if l.VpcId == vpc {
					ip = l.Ip
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s admits %s through %s (address %s) on its -vpc domain\n", id, vpc, vsw, ip)
			return nil
		},
	}
	link.Flags().StringVar(&vpc, "vpc", "", "the VPC to bind")
	link.Flags().StringVar(&vsw, "vswitch", "", "the vSwitch of that VPC the instance's address is taken from")
	profileFlag(link, &prof)
	unlink := &cobra.Command{
		Use:   "unlink ID --vpc VPC_ID",
		Short: "Unbind a VPC from the instance",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vpc == "" {
				return errors.New("give the VPC to unbind with --vpc VPC_ID (see `rolepull cr instance get ID`)")
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), "DeleteInstanceVpcEndpointLinkedVpc", map[string]string{"InstanceId": args[0], "VpcId": vpc}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s no longer admits %s\n", args[0], vpc)
			return nil
		},
	}
	unlink.Flags().StringVar(&vpc, "vpc", "", "the VPC to unbind")
	profileFlag(unlink, &prof)
	cmd.AddCommand(link, unlink)
	return cmd
}

func newCRDomainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domain",
		Short: "Add or remove custom (USER) domains of an instance",
		Long: `Bind a custom domain to an instance. It reaches the instance's internet
endpoint, under the same access control as the default public domain.
Default (SYSTEM) domains cannot be removed.`,
	}
	var prof string
	add := &cobra.Command{
		Use:     "add ID DOMAIN",
		Short:   "Bind a custom domain to the instance",
		Example: `  rolepull cr domain add cri-0123456789abcdef registry.example.com`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), "CreateInstanceDomain", map[string]string{"InstanceId": args[0], "DomainName": args[1]}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s reaches %s (internet endpoint)\n", args[1], args[0])
			return nil
		},
	}
	profileFlag(add, &prof)
	remove := &cobra.Command{
		Use:   "remove ID DOMAIN",
		Short: "Unbind a custom domain",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), "DeleteInstanceDomain", map[string]string{"InstanceId": args[0], "DomainName": args[1]}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s no longer reaches %s\n", args[1], args[0])
			return nil
		},
	}
	profileFlag(remove, &prof)
	cmd.AddCommand(add, remove)
	return cmd
}

func repoType(public bool) string {
	if public {
		return "PUBLIC"
	}
	return "PRIVATE"
}

func newCRNamespaceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "namespace", Short: "Create and list an instance's namespaces"}
	var prof string
	var auto, public bool
	create := &cobra.Command{
		Use:   "create ID NAMESPACE",
		Short: "Create a namespace",
		Long: `Create a namespace in an instance. With --auto-create-repo, the first push to
NAMESPACE/REPO creates the repository (of the namespace's default type:
PRIVATE, or PUBLIC with --default-public); without it, create repositories
with ` + "`cr repo create`" + ` first.`,
		Example: `  rolepull cr namespace create cri-0123456789abcdef demo --auto-create-repo`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), "CreateNamespace", map[string]string{"InstanceId": args[0], "NamespaceName": args[1],
				"AutoCreateRepo": strconv.FormatBool(auto), "DefaultRepoType": repoType(public)}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "namespace %s created in %s\n", args[1], args[0])
			return nil
		},
	}
	create.Flags().BoolVar(&auto, "auto-create-repo", false, "a push creates missing repositories")
	create.Flags().BoolVar(&public, "default-public", false, "repositories created by a push are PUBLIC (default PRIVATE)")
	profileFlag(create, &prof)
	list := &cobra.Command{
		Use:   "list ID",
		Short: "List an instance's namespaces",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			w := table(cmd.OutOrStdout(), "NAMESPACE", "AUTO-CREATE REPO", "DEFAULT REPO TYPE")
			for page := 1; ; page++ {
				var out struct {
					Namespaces []struct {
						NamespaceName, DefaultRepoType string
						AutoCreateRepo                 bool
					}
				}
				if err := a.do(cmd.Context(), "ListNamespace", map[string]string{"InstanceId": args[0], "PageNo": strconv.Itoa(page), "PageSize": strconv.Itoa(crPageSize)}, &out); err != nil {
					return err
				}
				for _, n := range out.Namespaces {
					fmt.Fprintf(w, "%s\t%v\t%s\n", n.NamespaceName, n.AutoCreateRepo, n.DefaultRepoType)
				}
				if len(out.Namespaces) < crPageSize {
					return w.Flush()
				}
			}
		},
	}
	profileFlag(list, &prof)
	cmd.AddCommand(create, list)
	return cmd
}

func newCRRepoCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "Create and list repositories"}
	var prof, summary, ns string
	var public bool
	create := &cobra.Command{
		Use:     "create ID NAMESPACE/REPO",
		Short:   "Create a repository (PRIVATE unless --public)",
		Long:    `Create a repository. Anyone who can reach a PUBLIC repository of an Enterprise instance may pull from it without credentials; pushing always needs cr:PushRepository.`,
		Example: `  rolepull cr repo create cri-0123456789abcdef demo/app`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			namespace, repo, err := splitRepo(args[1])
			if err != nil {
				return err
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			params := map[string]string{"InstanceId": args[0], "RepoNamespaceName": namespace, "RepoName": repo, "RepoType": repoType(public)}
			if summary != "" {
				params["Summary"] = summary
			}
			var out struct{ RepoId string }
			if err := a.do(cmd.Context(), "CreateRepository", params, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "repository %s/%s created in %s (%s, %s)\n", namespace, repo, args[0], out.RepoId, repoType(public))
			return nil
		},
	}
	create.Flags().BoolVar(&public, "public", false, "anyone who can reach the instance may pull")
	create.Flags().StringVar(&summary, "summary", "", "a one-line description")
	profileFlag(create, &prof)
	list := &cobra.Command{
		Use:   "list ID",
		Short: "List an instance's repositories",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			w := table(cmd.OutOrStdout(), "REPOSITORY", "TYPE", "REPO ID", "CREATED")
			for page := 1; ; page++ {
				params := map[string]string{"InstanceId": args[0], "PageNo": strconv.Itoa(page), "PageSize": strconv.Itoa(crPageSize)}
				if ns != "" {
					params["RepoNamespaceName"] = ns
				}
				var out struct {
					Repositories []struct {
						RepoNamespaceName, RepoName, RepoType, RepoId string
						CreateTime                                    int64
					}
				}
				if err := a.do(cmd.Context(), "ListRepository", params, &out); err != nil {
					return err
				}
				for _, r := range out.Repositories {
					fmt.Fprintf(w, "%s/%s\t%s\t%s\t%s\n", r.RepoNamespaceName, r.RepoName, r.RepoType, r.RepoId, millisTime(r.CreateTime))
				}
				if len(out.Repositories) < crPageSize {
					return w.Flush()
				}
			}
		},
	}
	list.Flags().StringVar(&ns, "namespace", "", "only this namespace's repositories")
	profileFlag(list, &prof)
	cmd.AddCommand(create, list)
	return cmd
}

func newCRTagsCmd() *cobra.Command {
	var prof string
	cmd := &cobra.Command{
		Use:     "tags ID NAMESPACE/REPO",
		Short:   "List a repository's tags, newest first",
		Example: `  rolepull cr tags cri-0123456789abcdef demo/app`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, repo, err := splitRepo(args[1])
			if err != nil {
				return err
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var r struct{ RepoId string }
			if err := a.do(ctx, "GetRepository", map[string]string{"InstanceId": args[0], "RepoNamespaceName": ns, "RepoName": repo}, &r); err != nil {
				return err
			}
			w := table(cmd.OutOrStdout(), "TAG", "DIGEST", "SIZE", "UPDATED")
			for page := 1; ; page++ {
				var out struct {
					Images []struct {
						Tag, Digest, ImageUpdate string
						ImageSize                int64
					}
				}
				if err := a.do(ctx, "ListRepoTag", map[string]string{"InstanceId": args[0], "RepoId": r.RepoId, "PageNo": strconv.Itoa(page), "PageSize": strconv.Itoa(crPageSize)}, &out); err != nil {
					return err
				}
				for _, i := range out.Images {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", i.Tag, i.Digest, i.ImageSize, orNone(millisTime(i.ImageUpdate)))
				}
				if len(out.Images) < crPageSize {
					return w.Flush()
				}
			}
		},
	}
	profileFlag(cmd, &prof)
	return cmd
}

func newCRLoginPasswordCmd() *cobra.Command {
	var prof string
	cmd := &cobra.Command{
		Use:   "login-password ID",
		Short: "Print a short-lived registry password for an instance (GetAuthorizationToken)",
		Long: `Print a temporary password for one instance as JSON: {"username", "password",
"expireTime"}. It stands for the profile's identity, so RAM decides every
push and pull made with it, and it is short-lived: it expires after one hour
at most (sooner when the profile holds STS credentials that expire sooner).
Never store it in a config file: the credential helper (` + "`rolepull credential-helper`" + `)
mints a fresh one whenever a client needs it.`,
		Example: `  rolepull cr login-password cri-0123456789abcdef | jq -r .password |
    crane auth login test1-registry.cn-hangzhou.cr.aliyuncs.com -u cr_temp_user --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			pw, err := a.authorizationToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), struct {
				Username   string `json:"username"`
				Password   string `json:"password"`
				ExpireTime string `json:"expireTime"`
			}{pw.Username, pw.Password, pw.Expires.Format(time.RFC3339)})
		},
	}
	profileFlag(cmd, &prof)
	return cmd
}
