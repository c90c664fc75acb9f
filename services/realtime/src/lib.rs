//! Realtime service: the durable event log, cursors and live fan-out. Its gRPC
//! contract is `proto/proto/realtime.proto`; the service itself lands with the
//! realtime issue.
