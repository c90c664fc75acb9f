//! The rules of deliveries, free of I/O.

pub mod access;
pub mod matching;
pub mod replies;
pub mod schedule;
pub mod sealing;
pub mod signing;
pub mod target;
