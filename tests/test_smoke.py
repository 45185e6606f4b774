import ccxtpro_fast


def test_build_info_reports_release_mode():
    info = ccxtpro_fast.build_info()
    assert info["mode"] in ("release", "debug")
    assert info["assertions"] == (info["mode"] != "release")
