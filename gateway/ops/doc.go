// Package ops is the room of what operators use: gateway/ops/metrics (what
// Kopir tells Prometheus) and gateway/ops/health (liveness, readiness and
// the maintenance switch). Both are served on the ops listener, apart from
// the API. They may import gateway/report, gateway/shep, gateway/pii and
// signing, to observe them; nothing but the composition root (package
// gateway) imports them.
//
// This package holds no code: it documents the room.
package ops
