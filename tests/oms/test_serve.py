"""`oms serve` as a process: it says where it listens, trades, serves metrics, and stops
cleanly on SIGTERM with its audit log closed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fixclient import FixTestClient
from running_oms import free_port, write_config

from oms.config import REPOSITORY_ROOT


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 20) -> str:
    """Read the process's stderr until a line contains `text`; that line."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r}; the process wrote:\n{''.join(seen)}")


def test_oms_serve_trades_serves_metrics_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    config = write_config(tmp_path, port, audit_mode="durable", store="file")
    text = config.read_text().replace("[metrics]\nenabled = false",
                                      f"[metrics]\nenabled = true\nport = {metrics_port}")
    config.write_text(text)
    process = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "serve", "--config", str(config)],
        stderr=subprocess.PIPE, text=True, cwd=REPOSITORY_ROOT,
    )
    try:
        ready = wait_for_line(process, "OMS ready")
        assert f"port {port}" in ready and "as OMS" in ready
        assert "CLIENT1 (FIX.4.4), CLIENT2 (FIX.4.4), CLIENT3 (FIX.4.2)" in ready

        with FixTestClient(port, "CLIENT1") as client:
            cl_ord_id = client.new_order(price="185.00")
            assert client.expect("8", {11: cl_ord_id})[150] == "0"
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as page:
                metrics = page.read().decode()
            assert 'oms_fix_sessions_logged_on{side="client"} 1.0' in metrics
            assert "oms_ack_latency_seconds_count 1.0" in metrics
            # The state gauges read the running OMS: its one live order, an idle engine.
            assert "oms_open_orders 1.0" in metrics
            assert "oms_engine_queue_depth " in metrics

        process.send_signal(signal.SIGTERM)
        wait_for_line(process, "OMS stopped")
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert any((tmp_path / "audit").iterdir())
    assert (tmp_path / "var" / "fix" / "store").is_dir()


def test_oms_serve_with_a_bad_configuration_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[fix]\nport = 1\nflavour = "strawberry"\n')
    run = subprocess.run(
        [sys.executable, "-m", "oms.cli", "serve", "--config", str(config)],
        capture_output=True, text=True, timeout=30, cwd=REPOSITORY_ROOT,
    )
    assert run.returncode == 2
    assert "fix.flavour" in run.stderr


def serve_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms.cli", "serve", "--config", str(config)],
        capture_output=True, text=True, timeout=30, cwd=REPOSITORY_ROOT,
    )


def test_oms_serve_with_a_negative_limit_exits_2_with_one_line_naming_key_value_and_file(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, free_port())
    config.write_text(config.read_text().replace("max_order_quantity = 100000",
                                                 "max_order_quantity = -5", 1))
    run = serve_once(config)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert f"{config}: accounts.ACC1.max_order_quantity must be 0 or more, not -5" in run.stderr


def test_oms_serve_with_a_bad_instruments_file_exits_2_with_one_line_naming_the_line(
    tmp_path: Path,
) -> None:
    instruments = tmp_path / "instruments.csv"
    instruments.write_text("symbol,exchange,currency,tick_size,lot_size,reference_price,tradable\n"
                           "AAPL,XNAS,USD,one cent,1,190.00,true\n")
    config = write_config(tmp_path, free_port())
    text = config.read_text().splitlines()
    text[0] = f'instruments = "{instruments}"'
    config.write_text("\n".join(text) + "\n")
    run = serve_once(config)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert f"{instruments}:2: tick_size: not a decimal number: 'one cent'" in run.stderr
