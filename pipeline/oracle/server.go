package oracle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a running oracle.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc // cancels every in-flight request
	served chan struct{}      // closed when Serve has returned
	err    error              // Serve's error; read after served is closed
	once   sync.Once
	faults *faultLayer // nil without fault injection
}

// Start serves the oracle on addr until ctx is done or Close is called. An
// empty addr listens on a free loopback port ("127.0.0.1:0"), so that the
// default oracle is never reachable from outside the machine; an explicit
// addr is used as given.
//
// With cfg.Faults.Rate > 0 the server is a flaky endpoint (see Faults).
func Start(ctx context.Context, cfg Config, addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	handler := NewHandler(cfg)
	var faults *faultLayer
	if cfg.Faults.Rate > 0 {
		model := cfg.Model
		if model == "" {
			model = DefaultModel
		}
		faults = newFaultLayer(handler, cfg.Faults, model)
		handler = faults
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oracle: listen on %s: %w", addr, err)
	}
	// Requests live under base so that Close and the end of ctx can stop
	// the ones waiting out a Delay.
	base, cancel := context.WithCancel(ctx)
	s := &Server{
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 30 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		ln:     ln,
		cancel: cancel,
		served: make(chan struct{}),
		faults: faults,
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.stop()
		case <-s.served:
		}
	}()
	return s, nil
}

// URL is the base URL for go-openai, e.g. "http://127.0.0.1:PORT/v1".
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String() + "/v1"
}

// Close stops the server: it lets in-flight replies finish until ctx is
// done, then cuts the remaining ones off. It is safe to call more than once.
func (s *Server) Close(ctx context.Context) error {
	shutdownErr := s.srv.Shutdown(ctx)
	if shutdownErr != nil {
		// ctx ran out with replies still pending (a long Delay): stop them.
		s.stop()
	}
	s.cancel()
	// Shutdown and Close both close the listener first, which makes Serve
	// return at once, so this wait is short and needs no deadline.
	<-s.served
	if shutdownErr != nil {
		return fmt.Errorf("oracle: graceful shutdown of %s: %w", s.ln.Addr(), shutdownErr)
	}
	if s.err != nil {
		return fmt.Errorf("oracle: serve on %s: %w", s.ln.Addr(), s.err)
	}
	return nil
}

// stop cancels in-flight requests and closes every connection at once.
func (s *Server) stop() {
	s.once.Do(func() {
		s.cancel()
		_ = s.srv.Close() // its only error is the listener's close error, already moot
	})
}
