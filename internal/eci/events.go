package eci

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rolepull/rolepull/internal/store"
)

// MaxEvents is how many events an object keeps; older ones are dropped.
const MaxEvents = 256

// event records an event on an object (a group or cache id), folding a
// repeat of the latest event (same type, reason, message) into its count.
func (s *Service) event(ctx context.Context, id, typ, reason, msg string) {
	s.eventMu.Lock()
	defer s.eventMu.Unlock()
	kvs, _, err := s.st.List(ctx, eventPrefix(id))
	if err != nil {
		s.log.Error("list events", "object", id, "err", err)
		return
	}
	now := s.now()
	var ops []store.Op
	if n := len(kvs); n > 0 {
		var last Event
		if json.Unmarshal(kvs[n-1].Value, &last) == nil && last.Type == typ && last.Reason == reason && last.Message == msg {
			last.Count++
			last.LastTimestamp = now
			b, _ := json.Marshal(last)
			if _, err := s.st.Txn(ctx, nil, []store.Op{store.Put(kvs[n-1].Key, b)}); err != nil {
				s.log.Error("record event", "object", id, "err", err)
			}
			return
		}
		for i := 0; i <= n-MaxEvents; i++ {
			ops = append(ops, store.Delete(kvs[i].Key))
		}
	}
	var seq int64 = 1
	if n := len(kvs); n > 0 {
		var last Event
		json.Unmarshal(kvs[n-1].Value, &last)
		seq = last.Seq + 1
	}
	e := Event{Seq: seq, Type: typ, Reason: reason, Message: msg, Count: 1, FirstTimestamp: now, LastTimestamp: now, Source: "EciService"}
	b, _ := json.Marshal(e)
	ops = append(ops, store.Put(fmt.Sprintf("%s%012d", eventPrefix(id), seq), b))
	if _, err := s.st.Txn(ctx, nil, ops); err != nil {
		s.log.Error("record event", "object", id, "err", err)
	}
	s.log.Debug("event", "object", id, "type", typ, "reason", reason, "message", msg)
}

// Events returns an object's events, oldest first.
func (s *Service) Events(ctx context.Context, id string) ([]Event, error) {
	kvs, _, err := s.st.List(ctx, eventPrefix(id))
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(kvs))
	for _, kv := range kvs {
		var e Event
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
