package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// InProcess is an http.RoundTripper that serves each request with the
// emulator handler registered for its host:port, in the caller's
// goroutine, without sockets. The request is written out and parsed back
// the way an HTTP/1.1 server reads it, and the handler's answer becomes the
// response a client would read off the wire, so the clients (go-marathon,
// go-driver, the metrics scrapers) run their normal code. A handler that
// hijacks the connection (fault injection: resets, truncated bodies) gets
// a connection whose bytes are parsed as the response; one that writes
// nothing gives the client a connection reset, as over TCP.
type InProcess struct {
	mu    sync.RWMutex
	hosts map[string]http.Handler

	// parsed keeps what http.ReadRequest made of the bytes of a request
	// without a body, by those bytes: a replay sends the same few dozen
	// requests every interval, and parsing them was 5 % of its work.
	pmu    sync.Mutex
	parsed map[string]*http.Request
}

// maxParsed bounds InProcess.parsed; past it the map starts afresh.
const maxParsed = 1024

// NewInProcess returns an empty transport; Handle registers the hosts.
func NewInProcess() *InProcess {
	return &InProcess{hosts: map[string]http.Handler{}, parsed: map[string]*http.Request{}}
}

// Handle serves requests to hostport ("127.0.0.1:8080") with h.
func (t *InProcess) Handle(hostport string, h http.Handler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hosts[hostport] = h
}

// chunkingSize is net/http's server buffer (bufferBeforeChunkingSize):
// an answer that fits gets a Content-Length, a longer one is chunked.
const chunkingSize = 2048

// inProcessAddr is the remote address handlers see.
const inProcessAddr = "127.0.0.1:1"

// RoundTrip implements http.RoundTripper.
func (t *InProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.RLock()
	h, ok := t.hosts[req.URL.Host]
	t.mu.RUnlock()
	if req.Body != nil {
		defer req.Body.Close()
	}
	if !ok || req.URL.Scheme != "http" {
		// What dialling a port nobody listens on gives.
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The request as the server parses it from the wire. The wire buffer
	// and its reader are reused: the handler has read the body by the time
	// it returns.
	wr := wirePool.Get().(*wire)
	defer func() {
		if wr.buf.Cap() <= 64<<10 { // not a large upload's buffer
			wirePool.Put(wr)
		}
	}()
	wr.buf.Reset()
	if err := req.Write(&wr.buf); err != nil {
		return nil, fmt.Errorf("sim: in-process request: %w", err)
	}
	sreq, err := t.serverRequest(ctx, wr, req.Body == nil || req.Body == http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("sim: in-process request: %w", err)
	}

	rw := &recorder{hdr: http.Header{}}
	h.ServeHTTP(rw, sreq)
	wr.r.Reset(nil)
	if err := ctx.Err(); err != nil {
		return nil, err // the client gave up before the answer
	}
	if rw.conn != nil {
		return rw.conn.response(req)
	}
	return rw.response(req), nil
}

// serverRequest parses the request in wr.buf as a server reads it off the
// wire. A request without a body is parsed once per distinct bytes and then
// cloned: ReadRequest gives the same request for the same bytes, and the
// handler gets a copy of its own, never the kept one.
func (t *InProcess) serverRequest(ctx context.Context, wr *wire, bodiless bool) (*http.Request, error) {
	if bodiless {
		t.pmu.Lock()
		tpl := t.parsed[string(wr.buf.Bytes())]
		t.pmu.Unlock()
		if tpl != nil {
			return tpl.Clone(ctx), nil
		}
	}
	key := ""
	if bodiless {
		key = wr.buf.String()
	}
	wr.r.Reset(&wr.buf)
	sreq, err := http.ReadRequest(wr.r)
	if err != nil {
		return nil, err
	}
	sreq.RemoteAddr = inProcessAddr
	if bodiless && sreq.ContentLength == 0 && wr.r.Buffered() == 0 {
		t.pmu.Lock()
		if len(t.parsed) >= maxParsed {
			clear(t.parsed)
		}
		t.parsed[key] = sreq.Clone(context.Background())
		t.pmu.Unlock()
	}
	return sreq.WithContext(ctx), nil
}

// wire is a request's bytes and the server-side reader over them.
type wire struct {
	buf bytes.Buffer
	r   *bufio.Reader
}

var wirePool = sync.Pool{New: func() any { return &wire{r: bufio.NewReader(nil)} }}

// recorder is the handler's http.ResponseWriter.
type recorder struct {
	hdr     http.Header
	status  int
	body    bytes.Buffer
	written bool
	conn    *hijacked
}

func (r *recorder) Header() http.Header { return r.hdr }

func (r *recorder) WriteHeader(code int) {
	if r.written || r.conn != nil {
		return
	}
	r.written = true
	r.status = code
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.conn != nil {
		return 0, http.ErrHijacked
	}
	if !r.written {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(b)
}

// Flush is a no-op: the body is handed over whole.
func (r *recorder) Flush() {}

// Hijack hands the handler a connection that records what it writes.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if r.written {
		return nil, nil, errors.New("sim: hijack after the response was written")
	}
	r.conn = &hijacked{}
	rw := bufio.NewReadWriter(bufio.NewReader(bytes.NewReader(nil)), bufio.NewWriter(r.conn))
	return r.conn, rw, nil
}

// response is what a client reads for the recorded answer, with the
// headers net/http's server adds (Content-Type sniffed when unset,
// Content-Length of a complete body).
func (r *recorder) response(req *http.Request) *http.Response {
	if !r.written {
		r.status = http.StatusOK
	}
	hdr := r.hdr // the handler has returned: its header map is handed over
	body := r.body.Bytes()
	if hdr.Get("Content-Type") == "" && len(body) > 0 && hdr.Get("Transfer-Encoding") == "" {
		hdr.Set("Content-Type", http.DetectContentType(body))
	}
	noBody := req.Method == http.MethodHead || r.status == http.StatusNoContent || r.status == http.StatusNotModified ||
		r.status >= 100 && r.status < 200
	length := int64(len(body))
	var te []string
	switch {
	case noBody:
		body, length = nil, 0
	case hdr.Get("Content-Length") != "":
		// The handler's own length stands.
	case len(body) <= chunkingSize:
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
	default:
		// net/http's server sends a body larger than its buffer chunked,
		// without a length.
		length, te = -1, []string{"chunked"}
	}
	return &http.Response{
		Status:           fmt.Sprintf("%d %s", r.status, http.StatusText(r.status)),
		StatusCode:       r.status,
		Proto:            "HTTP/1.1",
		ProtoMajor:       1,
		ProtoMinor:       1,
		Header:           hdr,
		Body:             io.NopCloser(bytes.NewReader(body)),
		ContentLength:    length,
		TransferEncoding: te,
		Request:          req,
	}
}

// hijacked is the connection a hijacking handler writes raw bytes to.
type hijacked struct {
	mu     sync.Mutex
	out    bytes.Buffer
	closed bool
}

func (c *hijacked) response(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	raw := bytes.Clone(c.out.Bytes())
	c.mu.Unlock()
	if len(raw) == 0 {
		// Closed without an answer: the client reads a reset.
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
	if err != nil {
		return nil, fmt.Errorf("sim: in-process response: %w", err)
	}
	return resp, nil
}

func (c *hijacked) Read([]byte) (int, error) { return 0, io.EOF }

func (c *hijacked) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(b)
}

func (c *hijacked) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *hijacked) LocalAddr() net.Addr              { return inProcAddr{} }
func (c *hijacked) RemoteAddr() net.Addr             { return inProcAddr{} }
func (c *hijacked) SetDeadline(time.Time) error      { return nil }
func (c *hijacked) SetReadDeadline(time.Time) error  { return nil }
func (c *hijacked) SetWriteDeadline(time.Time) error { return nil }

type inProcAddr struct{}

func (inProcAddr) Network() string { return "tcp" }
func (inProcAddr) String() string  { return inProcessAddr }
