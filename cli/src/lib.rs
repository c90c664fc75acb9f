//! The library half of the `clickclack` package: the whole system composed
//! in one process ([`stack`]), which `clickclack dev` runs and the test kit
//! starts per test. The `clickclack` binary (`main.rs`) adds the admin
//! commands and `serve`.

pub mod stack;
