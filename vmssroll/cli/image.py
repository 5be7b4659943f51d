"""`vmssroll set-image`: push a new image into the model with a PATCH of the image reference alone."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vmssroll.cli.common import DryRunOpt, ForceOpt, Invocation, NoWaitOpt, YesOpt, command, confirm
from vmssroll.domain.errors import AzureRequestFailed, ExitCode
from vmssroll.domain.image import check_image_args, new_image_reference
from vmssroll.domain.policy import Difference

app = typer.Typer()


@command(app, "set-image")
def set_image(
    inv: Invocation,
    version: Annotated[
        str | None,
        typer.Option("--version", metavar="VERSION", help="New image version (marketplace or gallery)."),
    ] = None,
    image_id: Annotated[
        str | None, typer.Option("--image-id", metavar="ID", help="Another image's resource id.")
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    no_wait: NoWaitOpt = False,
) -> int:
    """Change the model's image (PATCH of storageProfile.imageReference with If-Match); says what follows.

    Refused (exit 3) while a rolling upgrade is running, since Azure would change its target mid-flight,
    unless --force."""
    from vmssroll.cli.writes import accepted, follow_write, guard, judge, preview, show, waiting
    from vmssroll.domain.consequence import Write, WriteKind
    from vmssroll.ui.policy import changes_view

    check_image_args(version=version, image_id=image_id)
    azure = inv.azure()
    ss = azure.scale_set(inv.target)
    wanted = new_image_reference(ss.image, version=version, image_id=image_id)
    changes = [
        Difference(f"imageReference.{k}", ss.image.get(k), v)
        for k, v in wanted.items()
        if ss.image.get(k) != v
    ]
    doc: dict[str, Any] = {
        "scaleSet": ss.id,
        "dryRun": dry_run,
        "changes": [c.__dict__ for c in changes],
        "applied": False,
        "consequence": None,
    }
    if not changes:
        has = f"image version {version}" if version else f"image {image_id}"
        unchanged = f"No change: the scale set's model already has {has}."
        inv.out.result(doc, changes_view(changes, title="", unchanged=unchanged))
        return ExitCode.OK
    result = judge(inv, azure, ss, Write(WriteKind.MODEL))
    doc["consequence"] = result.to_json()
    if dry_run:
        title = "Would change (dry run: nothing sent):"
        return preview(inv, doc, result, changes_view(changes, title=title), force=force)
    inv.out.say(changes_view(changes, title=f"Model change for {ss.name}:"))
    show(inv, result)
    guard(inv, result, force=force)
    confirm(inv, f"Change the image of {ss.name}?", yes=yes)
    body = {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": wanted}}}}

    def applied(now: object) -> bool:
        return all(getattr(now, "image", {}).get(k) == v for k, v in wanted.items())

    with waiting(inv, no_wait=no_wait) as wait:
        stored = azure.patch(inv.target, body, ss.etag, applied=applied, wait=wait)
    if wait is None:
        title = "Accepted by Azure (not finished, not yet confirmed):"
        rolling = (ss.upgrade_policy.mode or "").lower() == "rolling"
        return accepted(
            inv, doc, stored, follow_write(inv, rollout=rolling), changes_view(changes, title=title)
        )
    if not applied(stored):
        raise AzureRequestFailed(f"Azure accepted the change but the model's image is {dict(stored.image)}")
    doc.update(applied=True, imageReference=dict(stored.image))
    inv.out.result(doc, changes_view(changes, title="Applied and confirmed by reading the model back:"))
    return ExitCode.OK
