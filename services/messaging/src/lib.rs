//! Messaging service: channels, messages, threads, DMs, reactions, uploads and
//! search. Its gRPC contract is `proto/proto/messaging.proto`; the service
//! itself lands with the messaging issue.
