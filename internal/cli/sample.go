package cli

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/spf13/cobra"
)

// newCRSampleImageCmd writes a small, real image — one layer holding a text
// file — so the walkthroughs have something to push without a Docker
// engine.
func newCRSampleImageCmd() *cobra.Command {
	var text string
	cmd := &cobra.Command{
		Use:   "sample-image DIR",
		Short: "Write a small sample image (one layer with a text file) as an OCI layout",
		Long: `Write a small image to DIR as an OCI image layout, to push with ` + "`rolepull cr push DIR IMAGE`" + `
when no other image is at hand. Its one layer holds /hello.txt.`,
		Example: `  rolepull cr sample-image ./sample && rolepull cr push ./sample test1-registry.cn-hangzhou.cr.aliyuncs.com/eci_test/nginx:1.0`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := crane.Image(map[string][]byte{"hello.txt": []byte(text + "\n")})
			if err != nil {
				return err
			}
			img, err = mutate.CreatedAt(img, v1Time(time.Now()))
			if err != nil {
				return err
			}
			p, err := layout.Write(args[0], empty.Index)
			if err != nil {
				return err
			}
			if err := p.AppendImage(img); err != nil {
				return err
			}
			d, err := img.Digest()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s@%s\n", args[0], d)
			return nil
		},
	}
	cmd.Flags().StringVar(&text, "text", "hello from rolepull", "what /hello.txt says")
	return cmd
}

func v1Time(t time.Time) v1.Time { return v1.Time{Time: t} }
