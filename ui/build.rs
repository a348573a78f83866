//! Compiles the .slint screens, bundling the gettext translations under lang/
//! (lang/zh_CN/LC_MESSAGES/ui.po; English is the source language).
use slint_build::{CompilerConfiguration, DefaultTranslationContext};

fn main() {
    // Read at run time, not with env!(): a build script compiled for one checkout can be
    // reused from a shared target dir by another checkout at a different path.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let config = CompilerConfiguration::new()
        .with_bundled_translations(format!("{manifest_dir}/lang"))
        .with_default_translation_context(DefaultTranslationContext::None)
        // Element names for the testing backend's ElementHandle (tests run in debug).
        .with_debug_info(std::env::var("PROFILE").is_ok_and(|p| p != "release"));
    if let Err(e) = slint_build::compile_with_config("ui/kiosk.slint", config) {
        println!("cargo:warning=slint compile failed: {e}");
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed=lang");
}
