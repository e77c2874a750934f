// Package reload owns the policy source: it reads the policy bytes from a
// file or an http(s) URL, hands them to a caller-supplied loader that
// validates them, keeps the last good result, and re-reads when the source
// changes (fsnotify on the file's directory, or polling the URL with
// ETag / If-Modified-Since). A bad edit never replaces a good policy.
//
// The package is generic over the loaded type so it does not depend on the
// policy package; the controller wires SIGHUP and POST /-/reload to Reload.
package reload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
)

// Loader validates raw policy bytes. name is the source (path or URL) so
// errors can read file:line:col: message.
type Loader[T any] func(name string, data []byte) (T, error)

// Defaults of Options.
const (
	DefaultDebounce     = time.Second
	DefaultPollInterval = 30 * time.Second
	DefaultMaxSize      = 16 << 20
	DefaultFetchTimeout = 30 * time.Second
)

// Options tune a Reloader. The zero value is usable.
type Options struct {
	// Client fetches URL sources (default: a plain http.Client). Give it
	// the TLS settings of config.TLSConfig. Redirects to another host or
	// from https to http are refused whatever its CheckRedirect says.
	Client *http.Client
	// FetchTimeout bounds one fetch of a URL source, the body included,
	// whatever the Client's own timeout (default 30s).
	FetchTimeout time.Duration
	// Clock stamps LastSuccess (default clock.Real).
	Clock clock.Clock
	// Debounce is how long a file must stay quiet after a change before it
	// is read, so an editor's or a config mount's burst of writes gives one
	// reload (default 1s).
	Debounce time.Duration
	// PollInterval is how often a URL source is re-fetched (default 30s).
	PollInterval time.Duration
	// After makes the debounce and poll timers (default time.After). Tests
	// pass a function returning a channel they fire themselves.
	After func(time.Duration) <-chan time.Time
	// MaxSize bounds the policy size in bytes (default 16 MiB).
	MaxSize int64
	// Logger reports reloads (default: discard).
	Logger *slog.Logger
}

// ErrSource is matched (errors.Is) by every *SourceError.
var ErrSource = errors.New("policy source unreadable")

// SourceError means the source could not be read or fetched.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string        { return fmt.Sprintf("policy source %s: %v", e.Source, e.Err) }
func (e *SourceError) Unwrap() error        { return e.Err }
func (e *SourceError) Is(target error) bool { return target == ErrSource }

// ErrBusy means a Reload gave up waiting for another one still running.
var ErrBusy = errors.New("another policy reload is in progress")

// ErrRejected is matched (errors.Is) by every *LoadError.
var ErrRejected = errors.New("policy rejected")

// LoadError means the loader rejected the content; the old value is kept.
// Its text is the loader's (which names file:line:col).
type LoadError struct {
	Source string
	Err    error
}

func (e *LoadError) Error() string        { return e.Err.Error() }
func (e *LoadError) Unwrap() error        { return e.Err }
func (e *LoadError) Is(target error) bool { return target == ErrRejected }

// Reloader holds the last good value loaded from one source.
type Reloader[T any] struct {
	src   string // as given: a path or a URL
	name  string // src with any URL password hidden; given to the loader and logs
	isURL bool
	load  Loader[T]
	opts  Options

	cur atomic.Pointer[T]

	// sem serialises Reload and guards the fields below; unlike a mutex,
	// waiting for it respects the caller's context.
	sem     chan struct{}
	sum     [sha256.Size]byte
	haveSum bool
	etag    string
	lastMod string

	cbMu sync.Mutex
	cbs  []func(old, new T)

	stMu    sync.Mutex
	ok      bool
	at      time.Time
	lastErr error
}

// New prepares a Reloader for src, a file path or an http(s):// URL. It
// does no I/O: call Reload once to load the first value (and fail fast),
// then Watch.
func New[T any](src string, load Loader[T], opts Options) (*Reloader[T], error) {
	if src == "" {
		return nil, errors.New("reload: empty policy source")
	}
	if load == nil {
		return nil, errors.New("reload: nil loader")
	}
	r := &Reloader[T]{src: src, name: src, load: load, opts: opts, sem: make(chan struct{}, 1)}
	l := strings.ToLower(src)
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		u, err := url.Parse(src)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("reload: invalid policy URL %q", redact(src))
		}
		r.isURL = true
		r.name = u.Redacted()
	}
	if r.opts.Client == nil {
		r.opts.Client = &http.Client{}
	}
	r.opts.Client = redirect.Guard(r.opts.Client)
	if r.opts.FetchTimeout <= 0 {
		r.opts.FetchTimeout = DefaultFetchTimeout
	}
	if r.opts.Clock == nil {
		r.opts.Clock = clock.Real{}
	}
	if r.opts.Debounce <= 0 {
		r.opts.Debounce = DefaultDebounce
	}
	if r.opts.PollInterval <= 0 {
		r.opts.PollInterval = DefaultPollInterval
	}
	if r.opts.After == nil {
		r.opts.After = time.After
	}
	if r.opts.MaxSize <= 0 {
		r.opts.MaxSize = DefaultMaxSize
	}
	if r.opts.Logger == nil {
		r.opts.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

// Source is the policy source (a URL's password hidden).
func (r *Reloader[T]) Source() string { return r.name }

// Current returns the last good value (T's zero value before the first
// successful Reload). Safe for concurrent use.
func (r *Reloader[T]) Current() T {
	if p := r.cur.Load(); p != nil {
		return *p
	}
	var zero T
	return zero
}

// OnChange registers f, called after every successful change with the old
// and the new value, in the order of the changes. f must not call Reload.
func (r *Reloader[T]) OnChange(f func(old, new T)) {
	r.cbMu.Lock()
	defer r.cbMu.Unlock()
	r.cbs = append(r.cbs, f)
}

// LastSuccess reports whether the latest attempt succeeded (a no-op on
// unchanged content counts) and when the current value was loaded.
func (r *Reloader[T]) LastSuccess() (ok bool, at time.Time) {
	r.stMu.Lock()
	defer r.stMu.Unlock()
	return r.ok, r.at
}

// LastError is the error of the latest attempt, nil if it succeeded.
func (r *Reloader[T]) LastError() error {
	r.stMu.Lock()
	defer r.stMu.Unlock()
	return r.lastErr
}

func (r *Reloader[T]) record(err error, loaded bool) {
	r.stMu.Lock()
	defer r.stMu.Unlock()
	r.ok = err == nil
	r.lastErr = err
	if loaded {
		r.at = r.opts.Clock.Now()
	}
}

// Reload reads the source now. Content equal (sha256) to the current value's,
// or a 304 from a URL, is a no-op (changed false). Content the loader rejects
// returns a *LoadError and keeps the old value; an unreadable source returns
// a *SourceError. Good new content replaces the value atomically and the
// OnChange functions run before Reload returns.
//
// While another Reload runs, Reload waits for it as long as ctx allows; if
// ctx ends first it returns a *SourceError wrapping ErrBusy and ctx's error,
// and records nothing.
func (r *Reloader[T]) Reload(ctx context.Context) (changed bool, err error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return false, &SourceError{Source: r.name, Err: fmt.Errorf("%w: %w", ErrBusy, ctx.Err())}
	}
	defer func() { <-r.sem }()
	changed, err = r.reload(ctx)
	r.record(err, changed)
	switch {
	case err != nil && r.cur.Load() == nil:
		// At start there is nothing to keep: the caller rejects and exits.
		r.opts.Logger.Error("policy rejected; there is no previous policy to keep", "source", r.name, "error", err)
	case err != nil:
		r.opts.Logger.Warn("policy reload failed, keeping the previous policy", "source", r.name, "error", err)
	case changed:
		r.opts.Logger.Info("policy loaded", "source", r.name)
	}
	return changed, err
}

func (r *Reloader[T]) reload(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, &SourceError{Source: r.name, Err: err}
	}
	var (
		data          []byte
		etag, lastMod string
		err           error
	)
	if r.isURL {
		var notModified bool
		data, etag, lastMod, notModified, err = r.fetch(ctx)
		if err != nil {
			return false, err
		}
		if notModified {
			return false, nil
		}
	} else {
		if data, err = r.readFile(); err != nil {
			return false, err
		}
	}
	sum := sha256.Sum256(data)
	if r.haveSum && sum == r.sum {
		r.etag, r.lastMod = etag, lastMod
		return false, nil
	}
	v, err := r.load(r.name, data)
	if err != nil {
		return false, &LoadError{Source: r.name, Err: err}
	}
	old := r.Current()
	r.cur.Store(&v)
	r.sum, r.haveSum = sum, true
	// Validators are kept only for good content: a rejected body must be
	// fetched (and rejected) again, not answered with 304 and forgotten.
	r.etag, r.lastMod = etag, lastMod
	r.cbMu.Lock()
	cbs := append([]func(old, new T){}, r.cbs...)
	r.cbMu.Unlock()
	for _, f := range cbs {
		f(old, v)
	}
	return true, nil
}

func (r *Reloader[T]) readFile() ([]byte, error) {
	f, err := os.Open(r.src)
	if err != nil {
		return nil, &SourceError{Source: r.name, Err: err}
	}
	defer f.Close()
	return r.readAll(f)
}

func (r *Reloader[T]) readAll(rd io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, r.opts.MaxSize+1))
	if err != nil {
		return nil, &SourceError{Source: r.name, Err: err}
	}
	if int64(len(data)) > r.opts.MaxSize {
		return nil, &SourceError{Source: r.name, Err: fmt.Errorf("larger than %d bytes", r.opts.MaxSize)}
	}
	return data, nil
}

func (r *Reloader[T]) fetch(ctx context.Context) (data []byte, etag, lastMod string, notModified bool, err error) {
	// One deadline for the whole exchange: a server that sends headers and
	// then stalls the body must not hold the reload lock for good.
	ctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.src, nil)
	if err != nil {
		return nil, "", "", false, &SourceError{Source: r.name, Err: err}
	}
	req.Header.Set("Accept", "application/yaml, text/yaml, text/plain;q=0.9, */*;q=0.5")
	if r.haveSum {
		if r.etag != "" {
			req.Header.Set("If-None-Match", r.etag)
		}
		if r.lastMod != "" {
			req.Header.Set("If-Modified-Since", r.lastMod)
		}
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", "", false, &SourceError{Source: r.name, Err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && r.haveSum:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, "", "", true, nil
	case resp.StatusCode != http.StatusOK:
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		msg := fmt.Sprintf("HTTP %s", resp.Status)
		if s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(snippet, nil))), " "); s != "" {
			msg += ": " + s
		}
		return nil, "", "", false, &SourceError{Source: r.name, Err: errors.New(msg)}
	}
	data, err = r.readAll(resp.Body)
	if err != nil {
		return nil, "", "", false, err
	}
	return data, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), false, nil
}

// Watch re-reads the source when it changes until ctx is done, then returns
// nil. A file source is watched through its directory, so a file replaced
// by rename (`mv new old`, Kubernetes and DC/OS config mounts swapping a
// `..data` link) is seen; events are debounced. A URL source is polled
// every PollInterval. Reload errors are logged and kept for LastError; they
// do not stop Watch. Watch returns an error only if it cannot watch.
func (r *Reloader[T]) Watch(ctx context.Context) error {
	if r.isURL {
		return r.poll(ctx)
	}
	return r.watchFile(ctx)
}

func (r *Reloader[T]) poll(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.opts.After(r.opts.PollInterval):
			_, _ = r.Reload(ctx)
		}
	}
}

func (r *Reloader[T]) watchFile(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("reload: watch %s: %w", r.name, err)
	}
	defer w.Close()
	dir, base := filepath.Split(filepath.Clean(r.src))
	if dir == "" {
		dir = "."
	}
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("reload: watch directory %s: %w", dir, err)
	}
	var fire <-chan time.Time // nil: nothing pending
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("reload: watcher of %s closed", dir)
			}
			if relevant(ev, base) {
				// Restart the quiet period: one reload after the burst.
				fire = r.opts.After(r.opts.Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return fmt.Errorf("reload: watcher of %s closed", dir)
			}
			r.opts.Logger.Warn("policy file watch error", "source", r.name, "error", err)
		case <-fire:
			fire = nil
			_, _ = r.Reload(ctx)
		}
	}
}

// relevant filters a directory's events down to the policy file and to the
// `..data`-style entries an atomic config-mount update swaps; a Mesos
// sandbox also holds stdout/stderr, written all the time.
func relevant(ev fsnotify.Event, base string) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	return name == base || strings.HasPrefix(name, "..")
}
