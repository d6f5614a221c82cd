package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Back-pressure (remote-protocol.md): a sender waits while the channel's bufferedAmount is
// above highWater, until it falls below lowWater. DataChannel.Send never blocks: without
// this, a download would sit in memory whole, however slow the technician's line.
const (
	highWater = 1 << 20
	lowWater  = 256 << 10
	// chunkSize is the most a binary message carries: what every browser takes.
	chunkSize = 16 << 10
	// recheck wakes a waiting sender now and then, in case a low event went missing.
	recheck = 100 * time.Millisecond
)

// sender sends on one data channel, with back-pressure for the binary messages.
type sender struct {
	dc  *webrtc.DataChannel
	c   *conn
	low chan struct{} // capacity 1: the channel's bufferedamountlow event
}

func newSender(c *conn, dc *webrtc.DataChannel) *sender {
	s := &sender{dc: dc, c: c, low: make(chan struct{}, 1)}
	dc.SetBufferedAmountLowThreshold(lowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case s.low <- struct{}{}:
		default:
		}
	})
	return s
}

// binary sends b once the channel has room, or gives up when ctx ends.
func (s *sender) binary(ctx context.Context, b []byte) error {
	if err := s.room(ctx); err != nil {
		return err
	}
	if err := s.dc.Send(b); err != nil {
		return fmt.Errorf("send on %s: %w", s.dc.Label(), err)
	}
	s.c.sent(len(b))
	s.c.m.notePeak(s.dc.BufferedAmount())
	return nil
}

// room waits while more than highWater bytes are buffered, until fewer than lowWater are.
func (s *sender) room(ctx context.Context) error {
	if s.dc.BufferedAmount() <= highWater {
		return nil
	}
	t := time.NewTicker(recheck)
	defer t.Stop()
	for s.dc.BufferedAmount() >= lowWater {
		if s.dc.ReadyState() != webrtc.DataChannelStateOpen {
			return fmt.Errorf("send on %s: the channel is %s", s.dc.Label(), s.dc.ReadyState())
		}
		select {
		case <-s.low:
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// text sends a control message as JSON text. Control messages are small and never wait:
// an answer must not queue behind a download.
func (s *sender) text(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	if err := s.dc.SendText(string(data)); err != nil {
		return fmt.Errorf("send on %s: %w", s.dc.Label(), err)
	}
	s.c.sent(len(data))
	return nil
}

// drain waits up to limit until everything sent has left, so that a last message goes out
// before the connection closes.
func (s *sender) drain(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for s.dc.BufferedAmount() > 0 && s.dc.ReadyState() == webrtc.DataChannelStateOpen && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// peak is the highest bufferedAmount seen right after a send, over all channels: the
// tests check that back-pressure bounds it.
type peak struct{ v atomic.Uint64 }

func (p *peak) note(n uint64) {
	for {
		old := p.v.Load()
		if n <= old || p.v.CompareAndSwap(old, n) {
			return
		}
	}
}
