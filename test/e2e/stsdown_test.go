package e2e

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// stsState is what the switchable STS does with a call.
type stsState int32

const (
	stsUp      stsState = iota
	stsHang             // never answers: blocks until the caller gives up
	stsRefused          // fails at once, as a dead store or endpoint does
)

// switchableSTS stands between the puller and the real STS and can be
// taken down.
type switchableSTS struct {
	next  pull.Assumer
	state atomic.Int32
	calls atomic.Int64
}

func (s *switchableSTS) set(st stsState) { s.state.Store(int32(st)) }

func (s *switchableSTS) AssumeRole(ctx context.Context, caller ram.Identity, in sts.AssumeRoleInput) (sts.Credentials, sts.AssumedRoleUser, error) {
	s.calls.Add(1)
	switch stsState(s.state.Load()) {
	case stsHang:
		<-ctx.Done()
		return sts.Credentials{}, sts.AssumedRoleUser{}, ctx.Err()
	case stsRefused:
		return sts.Credentials{}, sts.AssumedRoleUser{}, errors.New("dial tcp 127.0.0.1:2379: connect: connection refused")
	}
	return s.next.AssumeRole(ctx, caller, in)
}

func (s *switchableSTS) Verify(accessKeyID, token string) (ram.Identity, string, error) {
	return s.next.Verify(accessKeyID, token)
}

// STS goes down. Pods whose credential is cached and still valid start —
// past its half-life too, while a refresh cannot be had; a new chain fails
// within the STS timeout as a network failure naming STS, never hangs;
// an expired credential is never used; and when STS returns, the failed
// pod recovers on its own.
func TestSTSDown(t *testing.T) {
	leakcheck.Start(t)
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	var stsFault *switchableSTS
	w := newWorldWith(t, func(c *node.Config) {
		c.Clock = clk
		c.STSTimeout = 300 * time.Millisecond
		c.ECI = eci.Options{Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
		c.WrapAssumer = func(a pull.Assumer) pull.Assumer {
			stsFault = &switchableSTS{next: a}
			return stsFault
		}
	})
	ee := w.instance(w.a, "cn-hangzhou", "stsdown", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "eci_test/nginx:1.0", 2)
	image := []string{host + "/eci_test/nginx:1.0"}
	w.policy(w.a, "pull-all", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*","cr:Pull*"],"Resource":"*"}]}`)
	cached := []pull.Chain{{Service: w.role(w.a, "puller", eciTrust, "pull-all")}}
	fresh := []pull.Chain{{Service: w.role(w.a, "newcomer", eciTrust, "pull-all")}}

	w.expectReady(w.pod("warm", podSpec{images: image, chains: cached}))

	// Down, credential fresh: no STS call at all.
	stsFault.set(stsHang)
	before := stsFault.calls.Load()
	w.expectReady(w.pod("cached-fresh", podSpec{images: image, chains: cached}))
	if n := stsFault.calls.Load() - before; n != 0 {
		t.Errorf("a pod with a fresh cached credential called STS %d times", n)
	}

	// Down, credential past its half-life but valid: the refresh times
	// out and the cached credential stands in.
	clk.Advance(31 * time.Minute)
	w.expectReady(w.pod("cached-stale", podSpec{images: image, chains: cached}))
	if w.n.Puller.StaleCredentialUses() == 0 {
		t.Error("the pod started without the cached credential standing in — did STS answer?")
	}

	// Down, a chain never assumed: fails as network, naming STS and the
	// role, within the timeout (settle's own deadline catches a hang).
	g := w.pod("newcomer", podSpec{images: image, chains: fresh})
	cs := w.expectFailure(g, 0, pull.Network, "STS did not answer", "newcomer", "retries")
	if strings.Contains(cs.Message, "trust") || strings.Contains(cs.Message, "permission") {
		t.Errorf("an unavailable STS was reported as a refusal: %s", cs.Message)
	}

	// Refused outright, and the cached credential now expired: never used.
	stsFault.set(stsRefused)
	clk.Advance(30 * time.Minute)
	stale := w.n.Puller.StaleCredentialUses()
	w.expectFailure(w.pod("expired", podSpec{images: image, chains: cached}), 0, pull.Network, "STS did not answer", "connection refused")
	if w.n.Puller.StaleCredentialUses() != stale {
		t.Error("an expired credential stood in for STS")
	}

	// STS returns: the failed pod recovers by itself on its next retry.
	stsFault.set(stsUp)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := mustEci(t, w, g.ID)
		if got.Status == eci.StatusImagesReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the newcomer did not recover after STS returned: %+v\n%s", got.ContainerStatuses, w.events(g.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
