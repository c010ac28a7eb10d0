//! Every shader parses and validates with naga, so a broken shader fails without a GPU.

#[test]
fn every_shader_validates() {
    for kernel in ceteris::KERNELS {
        let src = ceteris::shader_source(kernel).unwrap();
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{kernel}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{kernel}: {e:?}"));
    }
}

#[test]
fn poisson_table_is_substituted() {
    let src = ceteris::shader_source("sums").unwrap();
    assert!(!src.contains("POISSON_T"));
    assert!(src.contains(&format!("{}u", ceteris::rng::POISSON1_THRESHOLDS[0])));
}
