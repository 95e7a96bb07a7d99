package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	eciv1 "github.com/rolepull/rolepull/api/eci/v1"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/kube"
	"github.com/rolepull/rolepull/internal/kubeapi"
)

// kubeFlags are the flags every kubectl-like verb takes.
type kubeFlags struct {
	profile   string
	namespace string
	all       bool
}

func (k *kubeFlags) add(cmd *cobra.Command, withAll bool) {
	profileFlag(cmd, &k.profile)
	cmd.Flags().StringVarP(&k.namespace, "namespace", "n", "default", "the namespace")
	if withAll {
		cmd.Flags().BoolVarP(&k.all, "all-namespaces", "A", false, "every namespace")
	}
}

func (k *kubeFlags) params() map[string]string {
	p := map[string]string{"Namespace": k.namespace}
	if k.all {
		p["AllNamespaces"] = "true"
	}
	return p
}

type applyOutput struct {
	Objects  []kube.Result
	Warnings []string
}

func lowerKind(kind string) string {
	if kind == "Deployment" {
		return "deployment.apps"
	}
	return strings.ToLower(kind)
}

func printResults(w io.Writer, rs []kube.Result) {
	for _, r := range rs {
		fmt.Fprintf(w, "%s/%s %s\n", lowerKind(r.Kind), r.Name, r.Action)
	}
}

func newApplyCmd() *cobra.Command {
	var k kubeFlags
	var file string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "apply -f FILE|-",
		Short: "Apply Kubernetes manifests: Pod, Deployment, ImageCache, Secret, Namespace",
		Long: `Apply a file of Kubernetes manifests (YAML or JSON, several documents) the way an
ACK virtual node does: every pod becomes an ECI container group whose images
are pulled secret-free per its annotations (k8s.aliyun.com/acr-service-arns,
acr-user-arns, acr-instance-ids) or with its imagePullSecrets.

The whole file is validated first: if anything is wrong, every error is
printed with its document, object and field, and nothing is applied.
Annotations count only on the pod itself — for a Deployment under
spec.template.metadata.annotations — and only when the pod is created.

With --wait, apply waits until every pod it created has pulled its images
(or failed), showing progress bars on a terminal.`,
		Example: `  rolepull apply -f examples/restricted-role/deployment.yaml --wait
  cat pod.yaml | rolepull apply -f - -n team`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("give the manifest with -f FILE (or -f - for stdin)")
			}
			m, err := readInput(cmd, file, kube.MaxManifestBytes)
			if err != nil {
				return err
			}
			params := k.params()
			params["Manifest"] = string(m)
			var out applyOutput
			err = call(cmd.Context(), k.profile, kubeapi.Version, "ApplyManifest", params, &out)
			for _, w := range out.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "Warning:", w)
			}
			if err != nil {
				return err
			}
			printResults(cmd.OutOrStdout(), out.Objects)
			if !wait {
				return nil
			}
			var pods []string
			for _, r := range out.Objects {
				if r.Kind == "Pod" && r.Action == "created" {
					pods = append(pods, r.Namespace+"/"+r.Name)
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return waitForPods(ctx, cmd, k.profile, pods)
		},
	}
	k.add(cmd, false)
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the manifest file, or - for stdin")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the created pods have pulled their images")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long --wait waits")
	return cmd
}

// settled reports whether a pod is done pulling: all images ready, or
// failed (a pull failure, which the reconciler retries with back-off).
func settled(p kube.PodView) (bool, bool) {
	if p.Status == eci.StatusImagesReady {
		return true, true
	}
	if p.Status == eci.StatusFailed {
		return true, false
	}
	pulling := false
	failed := false
	for _, c := range p.Containers {
		switch {
		case c.FailureKind != "":
			failed = true
		case !c.Ready:
			pulling = true
		}
	}
	return failed && !pulling, false
}

func listPods(ctx context.Context, profile string, params map[string]string) ([]kube.PodView, error) {
	var out struct{ Pods []kube.PodView }
	err := call(ctx, profile, kubeapi.Version, "ListPods", params, &out)
	return out.Pods, err
}

// waitForPods polls the pods until each settles, with a progress bar per
// pod on a terminal and a line per change otherwise.
func waitForPods(ctx context.Context, cmd *cobra.Command, profile string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	out := cmd.OutOrStdout()
	f, isFile := out.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	var progress *mpb.Progress
	bars := map[string]*mpb.Bar{}
	if tty {
		progress = mpb.NewWithContext(ctx, mpb.WithOutput(out), mpb.WithWidth(40))
	}
	last := map[string]string{}
	failures := 0
	for {
		pods, err := listPods(ctx, profile, map[string]string{"AllNamespaces": "true"})
		if err != nil {
			return err
		}
		byName := map[string]kube.PodView{}
		for _, p := range pods {
			byName[p.Namespace+"/"+p.Name] = p
		}
		pending := 0
		failures = 0
		for _, n := range names {
			p, ok := byName[n]
			if !ok {
				continue
			}
			done, ok2 := settled(p)
			if !done {
				pending++
			} else if !ok2 {
				failures++
			}
			line := fmt.Sprintf("pod/%s %s (%d/%d layers, %s/%s)", strings.SplitN(n, "/", 2)[1], p.Status,
				p.Progress.LayersDone, p.Progress.Layers, humanBytes(p.Progress.BytesDone), humanBytes(p.Progress.Bytes))
			if tty {
				b, ok := bars[n]
				if !ok {
					b = progress.AddBar(1, mpb.PrependDecorators(decor.Name(strings.SplitN(n, "/", 2)[1], decor.WCSyncSpaceR)),
						mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name(" "), decor.Percentage()))
					bars[n] = b
				}
				if p.Progress.Bytes > 0 {
					b.SetTotal(p.Progress.Bytes, false)
					b.SetCurrent(p.Progress.BytesDone)
				}
				if done {
					b.SetTotal(max(p.Progress.Bytes, 1), true)
				}
			} else if last[n] != line {
				fmt.Fprintln(out, line)
				last[n] = line
			}
		}
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			if progress != nil {
				progress.Wait()
			}
			return fmt.Errorf("timed out waiting for %d pod(s) to pull their images", pending)
		case <-time.After(500 * time.Millisecond):
		}
	}
	if progress != nil {
		progress.Wait()
	}
	if failures > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d pod(s) failed to pull: rolepull describe pod NAME says why", failures)}
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func newGetCmd() *cobra.Command {
	var k kubeFlags
	var output string
	var watch bool
	cmd := &cobra.Command{
		Use:   "get pods|deployments|imagecaches [-o wide|yaml|json] [--watch]",
		Short: "List pods, Deployments or image caches",
		Long: `List pods or Deployments, as kubectl does. A pod's STATUS is ImagesReady once every
image is pulled and verified (no container runtime runs them, so READY stays
0/N), or the reason its pull waits: ErrImagePull, ImagePullBackOff, ...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "", "wide", "yaml", "json":
			default:
				return fmt.Errorf("-o %q: want wide, yaml or json", output)
			}
			print := func() (string, error) {
				switch strings.ToLower(args[0]) {
				case "pod", "pods", "po":
					pods, err := listPods(cmd.Context(), k.profile, k.params())
					if err != nil {
						return "", err
					}
					return renderPods(pods, output, k.all)
				case "deployment", "deployments", "deploy":
					var out struct{ Deployments []kube.DeploymentView }
					if err := call(cmd.Context(), k.profile, kubeapi.Version, "ListDeployments", k.params(), &out); err != nil {
						return "", err
					}
					return renderDeployments(out.Deployments, output, k.all)
				case "imagecache", "imagecaches", "ic":
					var out struct{ ImageCaches []eciv1.ImageCache }
					if err := call(cmd.Context(), k.profile, kubeapi.Version, "ListImageCaches", k.params(), &out); err != nil {
						return "", err
					}
					return renderImageCaches(out.ImageCaches, output)
				}
				return "", fmt.Errorf("%q: want pods, deployments or imagecaches", args[0])
			}
			s, err := print()
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), s)
			for watch {
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
				next, err := print()
				if err != nil {
					return err
				}
				if next != s {
					fmt.Fprint(cmd.OutOrStdout(), changedLines(s, next))
					s = next
				}
			}
			return nil
		},
	}
	k.add(cmd, true)
	cmd.Flags().StringVarP(&output, "output", "o", "", "wide, yaml or json")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "keep printing rows as they change")
	return cmd
}

// changedLines returns the rows of next that were not in prev.
func changedLines(prev, next string) string {
	seen := map[string]bool{}
	for _, l := range strings.Split(prev, "\n") {
		seen[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(next, "\n") {
		if l != "" && !seen[l] {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func renderPods(pods []kube.PodView, output string, all bool) (string, error) {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name })
	switch output {
	case "json":
		b, err := jsonIndent(pods)
		return string(b), err
	case "yaml":
		b, err := yaml.Marshal(pods)
		return string(b), err
	}
	var sb strings.Builder
	headers := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if all {
		headers = append([]string{"NAMESPACE"}, headers...)
	}
	if output == "wide" {
		headers = append(headers, "CONTAINER-GROUP", "IMAGE CACHE", "IDENTITY")
	}
	w := table(&sb, headers...)
	for _, p := range pods {
		row := []string{p.Name, p.Ready, p.Status, "0", age(p.Created)}
		if all {
			row = append([]string{p.Namespace}, row...)
		}
		if output == "wide" {
			ident, cache := "-", p.Annotations[kube.AnnMatchedIMC]
			if len(p.Containers) > 0 && p.Containers[0].Identity != "" {
				ident = p.Containers[0].Identity
			}
			if cache == "" {
				cache = "-"
			}
			row = append(row, p.GroupID, cache, ident)
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
	return sb.String(), nil
}

func renderDeployments(ds []kube.DeploymentView, output string, all bool) (string, error) {
	switch output {
	case "json":
		b, err := jsonIndent(ds)
		return string(b), err
	case "yaml":
		b, err := yaml.Marshal(ds)
		return string(b), err
	}
	var sb strings.Builder
	headers := []string{"NAME", "IMAGES-READY", "UP-TO-DATE", "AGE"}
	if all {
		headers = append([]string{"NAMESPACE"}, headers...)
	}
	if output == "wide" {
		headers = append(headers, "IMAGES", "TEMPLATE-HASH")
	}
	w := table(&sb, headers...)
	for _, d := range ds {
		row := []string{d.Name, fmt.Sprintf("%d/%d", d.ImagesReady, d.Replicas), fmt.Sprint(d.UpToDate), age(d.Created)}
		if all {
			row = append([]string{d.Namespace}, row...)
		}
		if output == "wide" {
			row = append(row, strings.Join(d.Images, ","), d.TemplateHash)
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
	return sb.String(), nil
}

func newDescribeCmd() *cobra.Command {
	var k kubeFlags
	cmd := &cobra.Command{
		Use:   "describe pod|imagecache NAME",
		Short: "Show a pod (conditions, each container's image, digest and pull identity, events) or an image cache",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := k.params()
			params["Name"] = args[1]
			switch strings.ToLower(args[0]) {
			case "pod", "pods", "po":
			case "imagecache", "imagecaches", "ic":
				var out struct{ ImageCache eciv1.ImageCache }
				if err := call(cmd.Context(), k.profile, kubeapi.Version, "DescribeImageCache", params, &out); err != nil {
					return err
				}
				describeImageCache(cmd.OutOrStdout(), out.ImageCache)
				return nil
			default:
				return fmt.Errorf("%q: describe pod NAME or describe imagecache NAME", args[0])
			}
			var out struct{ Pod kube.PodView }
			if err := call(cmd.Context(), k.profile, kubeapi.Version, "DescribePod", params, &out); err != nil {
				return err
			}
			describePod(cmd.OutOrStdout(), out.Pod)
			return nil
		},
	}
	k.add(cmd, false)
	return cmd
}

func describePod(w io.Writer, p kube.PodView) {
	fmt.Fprintf(w, "Name:             %s\nNamespace:        %s\n", p.Name, p.Namespace)
	fmt.Fprintf(w, "Container group:  %s\n", p.GroupID)
	if p.Owner != "" {
		fmt.Fprintf(w, "Controlled by:    Deployment/%s\n", p.Owner)
	}
	if p.VpcID != "" {
		fmt.Fprintf(w, "Network:          %s / %s\n", p.VpcID, p.VSwitchID)
	}
	fmt.Fprintf(w, "Status:           %s\n", p.Status)
	if p.Progress.Layers > 0 {
		fmt.Fprintf(w, "Progress:         %d/%d layers, %s/%s\n", p.Progress.LayersDone, p.Progress.Layers, humanBytes(p.Progress.BytesDone), humanBytes(p.Progress.Bytes))
	}
	keys := make([]string, 0, len(p.Annotations))
	for k := range p.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "Annotations:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %s\n", k, p.Annotations[k])
	}
	fmt.Fprintln(w, "Containers:")
	for _, c := range p.Containers {
		fmt.Fprintf(w, "  %s:\n    Image:      %s\n", c.Name, c.Image)
		if c.ImageDigest != "" {
			fmt.Fprintf(w, "    Image ID:   %s\n", c.ImageDigest)
		}
		switch {
		case c.Identity != "" && c.FailureKind != "":
			fmt.Fprintf(w, "    Pulling as: %s\n", c.Identity) // the pull failed: who tried
		case c.Identity != "":
			fmt.Fprintf(w, "    Pulled as:  %s\n", c.Identity)
		}
		if c.Cache != "" {
			fmt.Fprintf(w, "    From cache: %s\n", c.Cache)
		}
		fmt.Fprintf(w, "    State:      %s\n      Reason:   %s\n", c.State, c.Reason)
		if c.Message != "" {
			fmt.Fprintf(w, "      Message:  %s\n", c.Message)
		}
		if c.FailureKind != "" {
			fmt.Fprintf(w, "      Failure:  %s\n", c.FailureKind)
		}
	}
	fmt.Fprintln(w, "Conditions:")
	for _, c := range p.Conditions {
		fmt.Fprintf(w, "  %-16s %s  %s\n", c.Type, c.Status, c.Reason)
	}
	fmt.Fprintln(w, "Events:")
	if len(p.Events) == 0 {
		fmt.Fprintln(w, "  <none>")
		return
	}
	tw := table(w, "  TYPE", "REASON", "AGE", "FROM", "MESSAGE")
	for _, e := range p.Events {
		a := age(e.LastTimestamp)
		if e.Count > 1 {
			a = fmt.Sprintf("%s (x%d)", a, e.Count)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, a, e.Source, e.Message)
	}
	tw.Flush()
}

func newDeleteCmd() *cobra.Command {
	var k kubeFlags
	var file string
	cmd := &cobra.Command{
		Use:   "delete (-f FILE | KIND NAME)",
		Short: "Delete the objects of a manifest, or one object; a Deployment takes its pods with it",
		Long: `Delete objects. Deleting a pod deletes its container group and unpins its images
(garbage collection removes blobs no pod or image cache pins); deleting a
Deployment deletes its pods.`,
		Example: `  rolepull delete -f examples/restricted-role/deployment.yaml
  rolepull delete deployment test`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Objects []kube.Result }
			params := k.params()
			switch {
			case file != "" && len(args) == 0:
				m, err := readInput(cmd, file, kube.MaxManifestBytes)
				if err != nil {
					return err
				}
				params["Manifest"] = string(m)
				if err := call(cmd.Context(), k.profile, kubeapi.Version, "DeleteManifest", params, &out); err != nil {
					return err
				}
			case file == "" && len(args) == 2:
				params["Kind"], params["Name"] = args[0], args[1]
				if err := call(cmd.Context(), k.profile, kubeapi.Version, "DeleteObject", params, &out); err != nil {
					return err
				}
			default:
				return fmt.Errorf("give -f FILE, or KIND NAME")
			}
			printResults(cmd.OutOrStdout(), out.Objects)
			return nil
		},
	}
	k.add(cmd, false)
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the manifest whose objects to delete")
	return cmd
}

func jsonIndent(v any) ([]byte, error) {
	var b strings.Builder
	if err := printJSON(&b, v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func renderImageCaches(ics []eciv1.ImageCache, output string) (string, error) {
	switch output {
	case "json":
		b, err := jsonIndent(ics)
		return string(b), err
	case "yaml":
		b, err := yaml.Marshal(ics)
		return string(b), err
	}
	var sb strings.Builder
	headers := []string{"NAME", "AGE", "CACHEID", "PHASE", "PROGRESS"}
	if output == "wide" {
		headers = append(headers, "EXPIRES", "IDENTITY")
	}
	w := table(&sb, headers...)
	for _, ic := range ics {
		row := []string{ic.Name, age(ic.CreationTimestamp.Time), ic.Status.ImageCacheID, ic.Status.Phase, ic.Status.Progress}
		if output == "wide" {
			exp := "never"
			if !ic.Status.ExpireDateTime.IsZero() {
				exp = ic.Status.ExpireDateTime.UTC().Format(time.RFC3339)
			}
			row = append(row, exp, ic.Status.Identity)
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
	return sb.String(), nil
}

func describeImageCache(w io.Writer, ic eciv1.ImageCache) {
	st := ic.Status
	fmt.Fprintf(w, "Name:        %s\nCache id:    %s\nPhase:       %s\nProgress:    %s\n", ic.Name, st.ImageCacheID, st.Phase, st.Progress)
	if st.Identity != "" {
		fmt.Fprintf(w, "Built as:    %s\n", st.Identity)
	}
	exp := "never"
	if !st.ExpireDateTime.IsZero() {
		exp = st.ExpireDateTime.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Expires:     %s\n", exp)
	fmt.Fprintln(w, "Images:")
	for _, img := range ic.Spec.Images {
		fmt.Fprintf(w, "  %s\n", img)
	}
	fmt.Fprintln(w, "Events:")
	if len(st.Events) == 0 {
		fmt.Fprintln(w, "  <none>")
		return
	}
	tw := table(w, "  TYPE", "REASON", "AGE", "MESSAGE")
	for _, e := range st.Events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Type, e.Name, age(e.LastTimestamp.Time), e.Message)
	}
	tw.Flush()
}
