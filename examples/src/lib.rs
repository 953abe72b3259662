//! Examples of vk-monitor; see the files beside this crate's manifest.
