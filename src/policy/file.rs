//! Policy files (TOML).
