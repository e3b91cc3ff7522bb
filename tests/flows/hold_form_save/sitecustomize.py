"""Test-only, loaded by the flow-run processes of one fault test (PYTHONPATH): the first process to save a
form's schema writes its pid to the file CIG_TEST_HOLD_FORM_SAVE names and waits there, after Prefect has
recorded the run Suspended and before the schema is saved, so the test can SIGKILL it in that window.
"""

import os

_HOLD = os.environ.get("CIG_TEST_HOLD_FORM_SAVE")

if _HOLD:
    import asyncio

    from prefect.input import run_input

    _save = run_input.acreate_flow_run_input

    async def _held_save(*args, **kwargs):  # type: ignore[no-untyped-def]
        if str(kwargs.get("key", "")).endswith("-schema"):
            try:
                with open(_HOLD, "x") as marker:  # once: the restarted run saves its form
                    marker.write(str(os.getpid()))
            except FileExistsError:
                pass
            else:
                await asyncio.sleep(300)
        return await _save(*args, **kwargs)

    run_input.acreate_flow_run_input = _held_save
