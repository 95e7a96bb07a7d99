package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/vpcapi"
)

func newVPCCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vpc",
		Short: "Create and list VPCs and vSwitches (VPC OpenAPI 2016-04-28)",
		Long: `Create and list VPCs and their vSwitches in the profile's region. rolepull
assigns every VPC the next free 127.(10+k).0.0/16 of the loopback range and
every vSwitch the next free /24 of its VPC: real addresses, so that the
registry tells where a connection comes from by its source address. Bind a
VPC to a registry instance's -vpc domain with ` + "`rolepull cr vpc link`" + `.`,
		Example: `  rolepull vpc create demo                     # prints: VPC_ID CIDR
  rolepull vpc vswitch create vpc-abc --zone cn-hangzhou-b`,
	}
	var prof string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a VPC and print its id and address block",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ VpcId, CidrBlock string }
			if err := call(cmd.Context(), prof, vpcapi.Version, "CreateVpc", map[string]string{"VpcName": args[0]}, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", out.VpcId, out.CidrBlock)
			return nil
		},
	}
	profileFlag(create, &prof)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the VPCs of the profile's region",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := table(cmd.OutOrStdout(), "VPC ID", "NAME", "CIDR", "VSWITCHES", "CREATED")
			for page := 1; ; page++ {
				var out struct {
					Vpcs struct {
						Vpc []struct {
							VpcId, VpcName, CidrBlock, CreationTime string
							VSwitchIds                              struct{ VSwitchId []string }
						}
					}
				}
				if err := call(cmd.Context(), prof, vpcapi.Version, "DescribeVpcs", map[string]string{"PageNumber": strconv.Itoa(page), "PageSize": strconv.Itoa(vpcPageSize)}, &out); err != nil {
					return err
				}
				for _, v := range out.Vpcs.Vpc {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.VpcId, v.VpcName, v.CidrBlock, orNone(strings.Join(v.VSwitchIds.VSwitchId, ",")), v.CreationTime)
				}
				if len(out.Vpcs.Vpc) < vpcPageSize {
					return w.Flush()
				}
			}
		},
	}
	profileFlag(list, &prof)
	cmd.AddCommand(create, list, newVSwitchCmd())
	return cmd
}

// vpcPageSize is the largest page the VPC API serves.
const vpcPageSize = 50

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newVSwitchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "vswitch", Short: "Create and list vSwitches"}
	var prof, zone, name string
	create := &cobra.Command{
		Use:     "create VPC_ID [--zone ZONE] [--name NAME]",
		Short:   "Create a vSwitch in a VPC and print its id and address block",
		Example: `  rolepull vpc vswitch create vpc-abc --zone cn-hangzhou-b --name web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, p, err := loadClient(prof)
			if err != nil {
				return err
			}
			if zone == "" {
				zone = p.Region + "-a"
			}
			params := map[string]string{"VpcId": args[0], "ZoneId": zone}
			if name != "" {
				params["VSwitchName"] = name
			}
			var out struct{ VSwitchId, CidrBlock string }
			if err := c.Do(cmd.Context(), vpcapi.Version, "CreateVSwitch", params, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", out.VSwitchId, out.CidrBlock)
			return nil
		},
	}
	create.Flags().StringVar(&zone, "zone", "", "zone of the VPC's region (default REGION-a)")
	create.Flags().StringVar(&name, "name", "", "name of the vSwitch")
	profileFlag(create, &prof)
	list := &cobra.Command{
		Use:   "list [VPC_ID]",
		Short: "List vSwitches, of one VPC or of all in the profile's region",
		Args:  cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := table(cmd.OutOrStdout(), "VSWITCH ID", "VPC ID", "ZONE", "NAME", "CIDR")
			for page := 1; ; page++ {
				params := map[string]string{"PageNumber": strconv.Itoa(page), "PageSize": strconv.Itoa(vpcPageSize)}
				if len(args) == 1 {
					params["VpcId"] = args[0]
				}
				var out struct {
					VSwitches struct {
						VSwitch []struct{ VSwitchId, VpcId, ZoneId, VSwitchName, CidrBlock string }
					}
				}
				if err := call(cmd.Context(), prof, vpcapi.Version, "DescribeVSwitches", params, &out); err != nil {
					return err
				}
				for _, s := range out.VSwitches.VSwitch {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.VSwitchId, s.VpcId, s.ZoneId, orNone(s.VSwitchName), s.CidrBlock)
				}
				if len(out.VSwitches.VSwitch) < vpcPageSize {
					return w.Flush()
				}
			}
		},
	}
	profileFlag(list, &prof)
	cmd.AddCommand(create, list)
	return cmd
}
