//! Output shapes of the tools build services already run, from a resolution: a driverkit
//! build config ([`driverkit`]) and a kernel-crawler list entry ([`kernel_crawler`]). Pure: a
//! [`crate::Resolution`] in, text or JSON out. (The `resolve --json` document itself is
//! [`crate::resolver::document`].)

pub mod driverkit;
pub mod kernel_crawler;
