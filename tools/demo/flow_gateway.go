package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
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
