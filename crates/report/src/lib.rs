//! Pictures and reports from run directories.
