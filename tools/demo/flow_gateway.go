package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// gatewayStage is the API Gateway stage the demo's gateway serves under.
const gatewayStage = "/prod"

// runningGateway is the gateway binary serving the stack's Kinesis for the
// emit step: the original's streaming producers' path (API Gateway Kinesis
// integration) run locally.
type runningGateway struct {
	base string // http://addr/prod
	stop func() error
}

// startGateway starts the gateway in front of the stack's Kinesis and waits
// until it answers.
func (f *flow) startGateway(ctx context.Context) (*runningGateway, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := f.start(ctx, "gateway", "gateway", "--kinesis", "--listen", addr,
		"--path-prefix", gatewayStage, "--metrics", "")
	if err != nil {
		return nil, err
	}
	g := &runningGateway{base: "http://" + addr + gatewayStage, stop: p.stop}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if _, err := g.call(ctx, http.MethodGet, "/streams", ""); err == nil {
			return g, nil
		}
		select {
		case err := <-p.exited:
			return nil, fmt.Errorf("gateway exited: %v%s", err, lastLine(p.log))
		case <-deadline:
			return nil, errors.Join(errors.New("gateway not answering after 30s"), g.stop())
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), g.stop())
		case <-tick.C:
		}
	}
}

// call sends one request to the gateway and returns the body of a 200.
func (g *runningGateway) call(ctx context.Context, method, path, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return data, fmt.Errorf("%s %s: %s: %s", method, g.base+path, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}

// createStreams creates the prefix's three streams through the gateway
// (POST /streams/{stream}, as with the original's API) unless they exist,
// and waits until they are ACTIVE (GET /streams/{stream}).
func (g *runningGateway) createStreams(ctx context.Context, prefix string) error {
	for _, t := range clean.Tables {
		name := landing.Stream(prefix, t)
		if _, err := g.call(ctx, http.MethodGet, "/streams/"+name, ""); err == nil {
			continue
		}
		if _, err := g.call(ctx, http.MethodPost, "/streams/"+name, `{"ShardCount": 1}`); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(time.Minute)
	for _, t := range clean.Tables {
		name := landing.Stream(prefix, t)
		for {
			data, err := g.call(ctx, http.MethodGet, "/streams/"+name, "")
			var d gateway.DescribeStreamResponse
			if err == nil && json.Unmarshal(data, &d) == nil && d.StreamDescription.StreamStatus == "ACTIVE" {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("stream %s not ACTIVE after a minute (last: %v %s)", name, err, data)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
