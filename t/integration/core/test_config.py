"""`clouddns -t`: every error as file:line:col: message and exit 1; a good file exits 0.
Also `clouddns -V` and the example configurations shipped in conf/."""

import subprocess

import pytest

from cdnstest import PLUGIN_DIR, SERVER_BIN, TOP_SRCDIR, server_env


def check(tmp_path, text, env=None, name="clouddns.yaml"):
    path = tmp_path / name
    path.write_text(text)
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env(env))
    return out.returncode, out.stderr.splitlines(), str(path)


def check_errors(tmp_path, text, expected, env=None):
    rc, lines, path = check(tmp_path, text, env)
    want = [line.format(file=path) for line in expected]
    assert (rc, lines) == (1, want)


def test_good_config(server_bin, tmp_path):
    rc, lines, path = check(tmp_path, """\
server:
  listen: ["127.0.0.1:5353", "[::1]:5353"]
  workers: 2
  identity: ns1.example.test
  max_udp_size: 1232
  log_level: info
  tcp_idle_timeout: 10s
  tcp_max_clients: 1024
  tcp_max_per_client: 64
  shutdown_timeout: 5s
pipeline:
  - chaos: { identity: ns1.example.test, version: "1.2.3", hide_version: false }
  - whoami: {}
  - log: {}
""")
    assert rc == 0, lines
    assert lines == [f"{path}: configuration is valid"]


def test_unknown_plugin(server_bin, tmp_path):
    rc, lines, path = check(tmp_path, """\
pipeline:
  - chaos: {}
  - nosuchplugin: {}
""")
    assert rc == 1
    assert len(lines) == 1, lines
    prefix = f"{path}:3:5: unknown plugin 'nosuchplugin' (no nosuchplugin.so in {PLUGIN_DIR}"
    assert lines[0].startswith(prefix) and lines[0].endswith(")"), lines


def test_unknown_options_with_positions(server_bin, tmp_path):
    check_errors(tmp_path, """\
server:
  listn: "127.0.0.1:5353"
pipeline:
  - chaos: { identiy: x }
  - whoami:
      zone: example.
      zones: foo
""", ["{file}:2:3: server: unknown option 'listn'; did you mean 'listen'?",
      "{file}:4:14: plugin 'chaos': unknown option 'identiy'; did you mean 'identity'?",
      "{file}:7:7: plugin 'whoami': unknown option 'zones'; did you mean 'zone'?"])
    check_errors(tmp_path, """\
pipeline:
  - chaos: { identiy: x }
  - whoami:
      zone: example.
      zones: foo
  - log: { colour: red }
""", ["{file}:2:14: plugin 'chaos': unknown option 'identiy'; did you mean 'identity'?",
      "{file}:5:7: plugin 'whoami': unknown option 'zones'; did you mean 'zone'?",
      "{file}:6:12: plugin 'log': unknown option 'colour'"])


def test_wrong_types(server_bin, tmp_path):
    check_errors(tmp_path, """\
server:
  max_udp_size: big
  workers: many
  tcp_idle_timeout: soon
pipeline:
  - chaos: {}
""", ["{file}:2:17: server: option 'max_udp_size': must be an integer between 512 and 4096, "
      'got "big"',
      "{file}:4:21: server: option 'tcp_idle_timeout': must be a duration "
      '(e.g. 250ms, 30s, 5m, 1h30m), got "soon"',
      "{file}:3:12: server: option 'workers': must be \"auto\" or between 1 and 256, "
      'got "many"'])
    check_errors(tmp_path, """\
pipeline:
  - chaos: { hide_version: maybe, nsid: [1] }
  - log: { level: loud }
  - whoami: []
""", ["{file}:2:28: plugin 'chaos': option 'hide_version': must be a boolean (true or false), "
      'got "maybe"',
      "{file}:2:41: plugin 'chaos': option 'nsid': must be a boolean (true or false), got a list",
      "{file}:3:19: plugin 'log': option 'level': must be one of 'error', 'warning', 'notice', "
      "'info', 'debug', got \"loud\"",
      "{file}:4:13: plugin 'whoami': must be a map, got a list"])


def test_out_of_range(server_bin, tmp_path):
    check_errors(tmp_path, """\
server:
  max_udp_size: 100
pipeline:
  - chaos: {}
""", ["{file}:2:17: server: option 'max_udp_size': must be between 512 and 4096, got \"100\""])


def test_plugin_option_values(server_bin, tmp_path):
    check_errors(tmp_path, f"""\
pipeline:
  - chaos: {{ version: "{'x' * 17000}" }}
  - whoami: {{ zone: "a..b" }}
""", ["{file}:2:23: plugin 'chaos': option 'version': at most 16384 characters, got 17000",
      '{file}:3:21: plugin \'whoami\': option \'zone\': invalid domain name "a..b": syntax error'])


def test_bad_listen_addresses(server_bin, tmp_path):
    msg = ("server: option 'listen': must be an address with a port such as \"127.0.0.1:53\" or "
           "\"[::1]:53\", got ")
    check_errors(tmp_path, """\
server:
  listen: ["127.0.0.1", "[::1]:99999", "localhost:53", "1.2.3.4.5:53", "::1:53"]
pipeline:
  - chaos: {}
""", ["{file}:2:12: " + msg + '"127.0.0.1"',
      "{file}:2:25: " + msg + '"[::1]:99999"',
      "{file}:2:40: " + msg + '"localhost:53"',
      "{file}:2:56: " + msg + '"1.2.3.4.5:53"',
      "{file}:2:72: " + msg + '"::1:53"'])
    check_errors(tmp_path, """\
server:
  listen: "127.0.0.1:port"
pipeline:
  - chaos: {}
""", ["{file}:2:11: " + msg + '"127.0.0.1:port"'])


def test_yaml_syntax_errors(server_bin, tmp_path):
    check_errors(tmp_path, """\
server:
  listen: "127.0.0.1:5353"
pipeline:
  - chaos: { version: "unterminated }
  - whoami: {}
""", ["{file}:6:1: syntax error: found unexpected end of stream "
      "(while scanning a quoted scalar at 4:23)"])
    check_errors(tmp_path, """\
server:
  listen: "127.0.0.1:5353"
 pipeline:
  - chaos: {}
""", ["{file}:3:2: syntax error: did not find expected key (while parsing a block mapping at 1:1)"])


def test_missing_environment_variable(server_bin, tmp_path):
    check_errors(tmp_path, """\
server:
  identity: ${CDNS_TEST_SURELY_UNSET}
pipeline:
  - chaos: { version: "v${CDNS_TEST_SET}" }
""", ["{file}:2:13: environment variable 'CDNS_TEST_SURELY_UNSET' is not set"],
                 env={"CDNS_TEST_SET": "1"})


def test_environment_variable_used(make_server):
    srv = make_server([("chaos", {"version": "v-${CDNS_TEST_VERSION}"})],
                      env={"CDNS_TEST_VERSION": "42"})
    import dns.rcode
    from cdnstest import make_query, txt_text

    r = srv.udp(make_query("version.bind.", "TXT", "CH"))
    assert r.rcode() == dns.rcode.NOERROR
    assert txt_text(r.answer[0]) == b"v-42"


def test_structure_errors(server_bin, tmp_path):
    check_errors(tmp_path, "", ["{file}:1:1: configuration must be a map with 'server' and "
                                "'pipeline'"])
    check_errors(tmp_path, "server:\n  workers: 1\n", ["{file}:1:1: 'pipeline' is required"])
    check_errors(tmp_path, "pipeline:\n  - chaos: {}\n  - chaos: {}\n",
                 ["{file}:3:5: plugin 'chaos' is already in the pipeline (at 2:5)"])
    check_errors(tmp_path, "pipeline:\n  - chaos: {}\nzones: []\n",
                 ["{file}:3:1: unknown section 'zones' (expected 'server' or 'pipeline')"])


def test_missing_file(server_bin, tmp_path):
    path = tmp_path / "absent.yaml"
    out = subprocess.run([str(SERVER_BIN), "-t", "-c", str(path)], capture_output=True,
                         text=True, timeout=60, env=server_env())
    assert out.returncode == 1
    assert out.stderr.splitlines() == [f"{path}: cannot open: No such file or directory"]


def test_start_with_bad_config_exits_1(server_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pipeline:\n  - chaos: { identiy: x }\n")
    out = subprocess.run([str(SERVER_BIN), "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env())
    assert out.returncode == 1
    assert f"{path}:2:14: plugin 'chaos': unknown option 'identiy'" in out.stderr


@pytest.mark.parametrize("name", ["quickstart.yaml", "clouddns.yaml"])
def test_shipped_configs(server_bin, name):
    path = TOP_SRCDIR / "conf" / name
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env())
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == [f"{path}: configuration is valid"]


def test_version_lists_plugins(server_bin):
    out = subprocess.run([str(SERVER_BIN), "-V", "-P", str(PLUGIN_DIR)], capture_output=True,
                         text=True, timeout=60, env=server_env())
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert text.startswith("clouddns ")
    assert "ABI" in text
    for name in ("chaos", "whoami", "log"):
        assert f"  {name} " in text, text


def test_plugin_path_from_environment(server_bin, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("pipeline:\n  - chaos: {}\n")
    out = subprocess.run([str(SERVER_BIN), "-t", "-c", str(path)], capture_output=True,
                         text=True, timeout=60,
                         env=server_env({"CLOUDDNS_PLUGIN_PATH": f"/nonexistent:{PLUGIN_DIR}"}))
    assert out.returncode == 0, out.stderr
