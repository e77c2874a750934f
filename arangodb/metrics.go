package arangodb

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/arangodb/go-driver/v2/connection"
)

// maxMetricsBytes caps one metrics answer; a DB server's is ~100 KB.
const maxMetricsBytes = 32 << 20

// Metrics returns the Prometheus text of GET /_admin/metrics/v2 for one
// server of the cluster, fetched through a coordinator (?serverId=); an
// empty serverID means the answering coordinator itself. The driver's
// GetMetrics decodes by exact content type and fails on ArangoDB's
// "text/plain; version=0.0.4", so the body is streamed from its connection.
func (c *Client) Metrics(ctx context.Context, serverID string) ([]byte, error) {
	op := "GET /_admin/metrics/v2"
	if serverID != "" {
		op += "?serverId=" + serverID
	}
	var out []byte
	err := c.do(ctx, op, func(ctx context.Context) error {
		var mods []connection.RequestModifier
		if serverID != "" {
			mods = append(mods, connection.WithQuery("serverId", serverID))
		}
		mods = append(mods, func(r connection.Request) error {
			r.AddHeader("Accept", "text/plain")
			return nil
		})
		resp, body, err := connection.CallStream(ctx, c.conn, http.MethodGet, connection.NewUrl("_admin", "metrics", "v2"), mods...)
		if err != nil {
			return err
		}
		defer body.Close()
		data, err := io.ReadAll(io.LimitReader(body, maxMetricsBytes+1))
		if err != nil {
			return err
		}
		if code := resp.Code(); code != http.StatusOK {
			var r errorBody
			_ = json.Unmarshal(data, &r)
			return apiError(op, code, &r)
		}
		if len(data) > maxMetricsBytes {
			return badResponse(op, "more than %d bytes", maxMetricsBytes)
		}
		out = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
