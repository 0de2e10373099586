"""What `compare` and `stream-agent` read before they build: the prompt, the image's user,
a service's port, the scripted model's service."""

from __future__ import annotations

import dagger

from .containers import scripted_model_service
from .lockfile import constraints_from_uv_lock


async def prompt_text(prompt: str, prompt_file: dagger.File | None) -> str:
    """The task, from --prompt or from the --prompt-file the CLI uploaded."""
    if prompt_file is None:
        return prompt
    if prompt:
        raise ValueError("pass --prompt or --prompt-file, not both")
    return await prompt_file.contents()


async def image_owner(image: dagger.Container) -> str:
    """The image's user, who must own /workspace (empty: root, no chown)."""
    return (await image.user()).strip()


async def service_port(service: dagger.Service) -> int:
    """The service's first port; a host service given as tcp://localhost:N keeps N."""
    endpoint = await service.endpoint()
    return int(endpoint.rpartition(":")[2])


async def scripted_model_of(repo_files: dagger.Directory) -> dagger.Service:
    constraints = constraints_from_uv_lock(await repo_files.file("uv.lock").contents())
    return scripted_model_service(repo_files.directory("app"), constraints)
