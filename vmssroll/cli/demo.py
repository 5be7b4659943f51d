"""`vmssroll demo`: the main job, told as a story, on the embedded emulator: no account, no set-up."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from vmssroll.cli.environment import Environment
from vmssroll.domain.errors import ExitCode

app = typer.Typer()

RG, NAME = "rg-demo", "web"
TARGET = ("-g", RG, "-n", NAME)
# The application's own health endpoint in the emulator (200 or 503), read the way a real gate would read one.
APP_GATE = 'curl -s --fail-with-body --cacert "$VMSSROLL_CA_BUNDLE" "$VMSSROLL_ARM_ENDPOINT/_emulator/app/rg-demo/web"'


@dataclass
class Story:
    """Runs each step as the real command, in its own process, and checks its exit code."""

    env: Environment
    variables: dict[str, str]
    terminal: bool
    failures: list[str] = field(default_factory=list)
    step: int = 0

    def say(self, text: str) -> None:
        self.env.stdout.write(f"\n{text}\n")
        self.env.stdout.flush()

    def chapter(self, title: str, text: str) -> None:
        self.step += 1
        bar = "─" * min(78, len(title) + 4)
        self.env.stdout.write(f"\n{bar}\n {self.step}. {title}\n{bar}\n{text}\n")
        self.env.stdout.flush()

    def run(self, *args: str, expect: int = 0) -> int:
        shown = shlex.join(("vmssroll", *args))
        self.env.stdout.write(f"\n$ {shown}\n")
        self.env.stdout.flush()
        done = subprocess.run(
            [sys.executable, "-m", "vmssroll", *args],
            env=self.variables,
            stdout=None if self.terminal else subprocess.PIPE,
            stderr=subprocess.STDOUT if not self.terminal else None,
            text=True,
            check=False,
        )
        if done.stdout:
            self.env.stdout.write(done.stdout)
        verdict = "as expected" if done.returncode == expect else f"EXPECTED {expect}"
        self.env.stdout.write(f"→ exit code {done.returncode} ({verdict})\n")
        self.env.stdout.flush()
        if done.returncode != expect:
            self.failures.append(f"`{shown}` exited {done.returncode}, expected {expect}")
        return done.returncode


@app.command("demo")
def demo(
    ctx: typer.Context,
    speed: Annotated[
        float,
        typer.Option(
            "--speed", metavar="FACTOR", min=1.0, max=10000.0, help="Simulated seconds per real second."
        ),
    ] = 20.0,
) -> None:
    """Rehearse a whole rollout on the embedded emulator: check, enable Rolling, upgrade, breach, restart,
    and a progressive rollout whose gate catches a release the health probe passes."""
    from vmssroll.emulator import Emulator, ScaledClock

    env = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
    emu = Emulator(clock=ScaledClock(speed), scenario="demo").start()
    variables = {
        **os.environ,
        "VMSSROLL_ARM_ENDPOINT": emu.url,
        "VMSSROLL_CA_BUNDLE": emu.ca_path,
        "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
    }
    story = Story(env, variables, terminal=env.is_terminal())
    try:
        tell(story, emu)
    finally:
        emu.stop()
    if story.failures:
        story.say("The story did not play out as designed:\n  " + "\n  ".join(story.failures))
        raise typer.Exit(ExitCode.UNEXPECTED)
    story.say("The story played out as designed. Every command above works the same against Azure.")


def tell(story: Story, emu: Any) -> None:
    story.say(
        "vmssroll demo: a scale set 'web' (10 instances across zones 1, 2, 3, Manual mode, the Application\n"
        "Health extension) lives in an Azure emulator on this machine. Every step below is the real command."
    )
    story.chapter(
        "Is it ready for Rolling upgrades?", "Check the health prerequisites before changing anything."
    )
    story.run("check", *TARGET)
    story.chapter(
        "Switch from Manual to Rolling", "Only once health is really reported; one PATCH, with If-Match."
    )
    story.run(
        "enable-rolling", *TARGET,
        "--max-batch-instance-percent", "20", "--max-unhealthy-instance-percent", "20",
        "--max-unhealthy-upgraded-instance-percent", "20", "--pause-time-between-batches", "10s", "--yes",
    )  # fmt: skip
    story.chapter("Push image 2.0.0", "In Rolling mode a model change starts a rolling upgrade at once.")
    story.run("set-image", *TARGET, "--version", "2.0.0", "--yes")
    story.run("watch", *TARGET, "--interval", "1s")
    story.chapter(
        "Push image 3.0.0, which needs a configuration service that is down",
        "Its instances come up unhealthy. After the first batch 2 of the 2 upgraded instances are unhealthy:\n"
        "100%, more than maxUnhealthyUpgradedInstancePercent 20%, so Azure stops the upgrade (exit 5).",
    )
    emu.set_health(RG, NAME, image_version="3.0.0", health="unhealthy")
    story.run("set-image", *TARGET, "--version", "3.0.0", "--yes")
    story.run("watch", *TARGET, "--interval", "1s", expect=5)
    story.run("status", *TARGET)
    story.chapter(
        "Fix the configuration service, then restart",
        "The fix is outside the model, so nothing starts by itself: `restart` sends an empty model update\n"
        "(a PATCH with If-Match that changes nothing) and Azure upgrades the instances still behind.",
    )
    emu.set_health(RG, NAME, image_version="3.0.0", health="healthy")
    story.run("restart", *TARGET, "--yes", "--watch", "--interval", "1s")
    story.chapter(
        "Roll out 3.1.0 with a gate: the application breaks, the health probe does not see it",
        "3.1.0 boots and passes the VMs' health probe, so Azure would roll it everywhere; but the configuration\n"
        "service rejects it and the application's own health endpoint starts failing. `rollout` runs that\n"
        "endpoint as a gate while Azure rolls (and for a bake after): two failures in a row stop the rollout,\n"
        "cancel the upgrade, and undo puts 3.0.0 back (exit 5).",
    )
    story.run(
        "rollout", *TARGET, "--image-version", "3.1.0", "--gate", APP_GATE, "--gate-interval", "1s",
        "--gate-failures", "2", "--bake", "5s", "--on-failure", "undo", "--interval", "1s", "--yes", expect=5,
    )  # fmt: skip
    story.run("status", *TARGET)
