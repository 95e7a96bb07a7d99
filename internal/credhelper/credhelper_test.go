package credhelper

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeSource map[string][2]string

func (f fakeSource) Credentials(_ context.Context, host string) (string, string, error) {
	c, ok := f[host]
	if !ok {
		return "", "", ErrNotFound
	}
	return c[0], c[1], nil
}

func TestRun(t *testing.T) {
	src := fakeSource{"test1-registry.cn-hangzhou.cr.aliyuncs.com": {"cr_temp_user", "RPT1.x.y"}}
	tests := []struct {
		name    string
		verb    string
		stdin   string
		want    string
		wantErr error
	}{
		{"get by host", "get", "test1-registry.cn-hangzhou.cr.aliyuncs.com\n",
			`{"ServerURL":"test1-registry.cn-hangzhou.cr.aliyuncs.com","Username":"cr_temp_user","Secret":"RPT1.x.y"}` + "\n", nil},
		{"get by URL", "get", "https://TEST1-registry.cn-hangzhou.cr.aliyuncs.com/v2/",
			`{"ServerURL":"https://TEST1-registry.cn-hangzhou.cr.aliyuncs.com/v2/","Username":"cr_temp_user","Secret":"RPT1.x.y"}` + "\n", nil},
		{"get unknown", "get", "docker.io", "credentials not found in native keychain\n", ErrNotFound},
		{"store discards", "store", `{"ServerURL":"x","Username":"u","Secret":"s"}`, "", nil},
		{"erase", "erase", "x", "", nil},
		{"list", "list", "", "{}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(t.Context(), []string{tt.verb}, strings.NewReader(tt.stdin), &out, src)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run(%s) error = %v, want %v", tt.verb, err, tt.wantErr)
			}
			if out.String() != tt.want {
				t.Errorf("Run(%s) wrote %q, want %q", tt.verb, out.String(), tt.want)
			}
		})
	}
	if err := Run(context.Background(), []string{"get"}, strings.NewReader(strings.Repeat("a", maxInput+1)), &bytes.Buffer{}, src); err == nil {
		t.Error("an oversized stdin was accepted")
	}
	if err := Run(context.Background(), []string{"bogus"}, strings.NewReader(""), &bytes.Buffer{}, src); err == nil {
		t.Error("an unknown verb was accepted")
	}
}
