"""The `aideator` Dagger module: one object, four functions."""

from __future__ import annotations

import dataclasses
import uuid

import dagger
from dagger import dag, function, object_type

from .after_variations import (
    check_synthesize_top,
    finish_all,
    passing_needed,
    synthesize,
)
from .agent_run import AgentRun, collect_check, collect_run, stdout_and_exit_code
from .arguments import (
    AgentKind,
    AgentSource,
    ApiKey,
    CheckCommand,
    Command,
    Count,
    EarlyStop,
    Env,
    Gateway,
    GatewayPath,
    GitToken,
    Image,
    JudgeInstructions,
    JudgeModel,
    MaxTurns,
    Model,
    Models,
    Prompt,
    PromptFile,
    Ref,
    Relay,
    RelayPath,
    RelayToken,
    RepoFiles,
    RepoUrl,
    RunId,
    ScriptedModel,
    Session,
    SetupCommand,
    Source,
    SynthesisModel,
    SynthesizeTop,
    SystemPromptAppend,
    VariationId,
)
from .call_inputs import image_owner, prompt_text, scripted_model_of, service_port
from .comparison import AgentSettings, fan_out, report_directory
from .containers import (
    SCRIPTED_MODEL_PORT,
    Binding,
    agent_exec,
    agent_image,
    check_exec,
    git_ref,
    with_workspace,
)
from .judge import JudgeRequest, judge_again, judge_outcomes
from .report import VariationOutcome, build_report, render_markdown
from .session import session_id_of, with_session
from .spec import (
    DEFAULT_MODEL,
    PlannedVariation,
    agent_spec,
    base_sha_of,
    cache_bust_value,
    parse_env_pairs,
    plan_variations,
    relay_ingest_path,
)
from .transcript import final_result
from .workspace import SetupFailed, require_one_source, run_setup, workspace_tree

SCRIPTED_MODEL_KEY = "not-a-real-key"  # the scripted model accepts any key
__all__ = ["Aideator", "SetupFailed"]


@object_type
class Aideator:
    """Run coding-agent variations in containers and compare them."""

    # Per session: `--repo-url` with a branch must show the branch as it is now, not a tree
    # cached days ago. The SDK's typed overloads of `function` omit `cache`, which it accepts.
    @function(cache="session")  # type: ignore[call-overload, untyped-decorator]
    async def agent(
        self,
        agent_source: AgentSource,
        repo_url: RepoUrl = "",
        ref: Ref = "HEAD",
        source: Source = None,
        git_token: GitToken = None,
        image: Image = "",
        setup_command: SetupCommand = "",
    ) -> dagger.Container:
        """The agent container with the repository at /workspace, e.g. for `terminal`."""
        require_one_source(repo_url, source)
        base = agent_image(agent_source, image)
        owner = await image_owner(base)
        tree = workspace_tree(base, owner, repo_url, ref, source, git_token)
        return await run_setup(with_workspace(base, tree, owner), setup_command)

    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def stream_agent(
        self,
        agent_source: AgentSource,
        prompt: Prompt = "",
        repo_url: RepoUrl = "",
        ref: Ref = "HEAD",
        source: Source = None,
        variation_id: VariationId = 0,
        run_id: RunId = "adhoc",
        model: Model = DEFAULT_MODEL,
        agent: AgentKind = "claude-code",
        command: Command = None,
        max_turns: MaxTurns = 0,
        system_prompt_append: SystemPromptAppend = "",
        env: Env = None,
        anthropic_api_key: ApiKey = None,
        gateway: Gateway = None,
        gateway_path: GatewayPath = "",
        relay: Relay = None,
        relay_path: RelayPath = "",
        relay_token: RelayToken = None,
        git_token: GitToken = None,
        image: Image = "",
        setup_command: SetupCommand = "",
        prompt_file: PromptFile = None,
        session: Session = None,
    ) -> AgentRun:
        """Run one agent variation (or a follow-up, with --session): lines go to --relay."""
        # A follow-up: --source is an earlier call's `workspace`, --session its `session`.
        require_one_source(repo_url, source)
        prompt = await prompt_text(prompt, prompt_file)
        spec = agent_spec(
            prompt=prompt,
            agent=agent,
            model=model,
            max_turns=max_turns,
            system_prompt_append=system_prompt_append,
            command=command or [],
            # After setup the agent diffs against HEAD: the base, or setup's own commit.
            base_sha="" if source is not None or setup_command.strip() else base_sha_of(ref),
            run_id=run_id,
            variation_id=variation_id,
        )
        if session is not None:
            if agent != "claude-code":
                raise ValueError("--session resumes a Claude Code session; use --agent claude-code")
            spec["resume_session"] = await session_id_of(session)
        extra_env = parse_env_pairs(env or [])
        base = agent_image(agent_source, image)
        owner = await image_owner(base)
        tree = workspace_tree(base, owner, repo_url, ref, source, git_token)
        workspace = await run_setup(with_workspace(base, tree, owner), setup_command)
        if session is not None:
            workspace = with_session(workspace, session, owner)
        gateway_binding = relay_binding = None
        if gateway is not None:
            port = await service_port(gateway)
            gateway_binding = Binding(gateway, "gateway", port, gateway_path)
        if relay is not None:
            path = relay_path or relay_ingest_path(run_id, variation_id)
            relay_binding = Binding(relay, "relay", await service_port(relay), path)
        ran = agent_exec(
            workspace,
            spec=spec,
            cache_bust=cache_bust_value(run_id, variation_id, uuid.uuid4().hex),
            api_key=anthropic_api_key,
            gateway=gateway_binding,
            relay=relay_binding,
            relay_token=relay_token,
            extra_env=extra_env,
        )
        return await collect_run(ran)

    @function
    async def scripted_model(self, repo_files: RepoFiles) -> dagger.Service:
        """This repository's scripted model (not Claude) as a service on port 8787."""
        return await scripted_model_of(repo_files)

    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def compare(
        self,
        agent_source: AgentSource,
        repo_files: RepoFiles,
        prompt: Prompt = "",
        repo_url: RepoUrl = "",
        ref: Ref = "HEAD",
        source: Source = None,
        models: Models = None,
        count: Count = 1,
        check_command: CheckCommand = "",
        agent: AgentKind = "claude-code",
        command: Command = None,
        max_turns: MaxTurns = 0,
        system_prompt_append: SystemPromptAppend = "",
        env: Env = None,
        anthropic_api_key: ApiKey = None,
        gateway: Gateway = None,
        gateway_path: GatewayPath = "",
        scripted_model: ScriptedModel = False,
        git_token: GitToken = None,
        image: Image = "",
        setup_command: SetupCommand = "",
        prompt_file: PromptFile = None,
        early_stop: EarlyStop = "never",
        judge_model: JudgeModel = "",
        judge_instructions: JudgeInstructions = "",
        synthesize_top: SynthesizeTop = 0,
        synthesis_model: SynthesisModel = "",
    ) -> dagger.Directory:
        """Run variations in parallel, check and rank them: report.json, report.md, patches."""
        require_one_source(repo_url, source)
        prompt = await prompt_text(prompt, prompt_file)
        if scripted_model and gateway is not None:
            raise ValueError("--scripted-model and --gateway exclude each other")
        plan = plan_variations(models or [DEFAULT_MODEL], count)
        need = passing_needed(early_stop, len(plan), check_command)
        check_synthesize_top(synthesize_top, len(plan))
        agent_spec(  # refuse bad arguments before anything is built
            prompt=prompt,
            agent=agent,
            model=plan[0].model,
            max_turns=max_turns,
            system_prompt_append=system_prompt_append,
            command=command or [],
            base_sha="",
            run_id="",
            variation_id=0,
        )
        nonce = uuid.uuid4().hex
        base = agent_image(agent_source, image)
        owner = await image_owner(base)
        base_sha = ""
        if source is None and repo_url:
            # Resolved once, so every variation starts from the same commit.
            base_sha = await git_ref(repo_url, ref, git_token).commit()
        tree = workspace_tree(base, owner, repo_url, base_sha or ref, source, git_token)
        workspace = await run_setup(with_workspace(base, tree, owner), setup_command)
        binding, api_key = None, anthropic_api_key
        if scripted_model:
            service = await scripted_model_of(repo_files)
            binding = Binding(service, "gateway", SCRIPTED_MODEL_PORT)
            api_key = api_key or dag.set_secret("aideator-scripted-model-key", SCRIPTED_MODEL_KEY)
        elif gateway is not None:
            binding = Binding(gateway, "gateway", await service_port(gateway), gateway_path)
        settings = AgentSettings(
            prompt=prompt,
            agent=agent,
            command=command or [],
            max_turns=max_turns,
            system_prompt_append=system_prompt_append,
            extra_env=parse_env_pairs(env or []),
            # After setup the agent diffs against HEAD: the base, or setup's own commit.
            base_sha="" if setup_command.strip() else base_sha,
            run_id=f"compare-{nonce[:12]}",
            nonce=nonce,
        )
        runs = fan_out(workspace, plan, settings, api_key=api_key, gateway=binding)

        async def finish(planned: PlannedVariation, ran: dagger.Container) -> VariationOutcome:
            stdout, code = await stdout_and_exit_code(ran)
            result = final_result(stdout, code)
            check = None
            if check_command:
                check = await collect_check(
                    check_exec(
                        workspace,
                        patch=result["diff"],
                        check_command=check_command,
                        owner=owner,
                        cache_bust=cache_bust_value(settings.run_id, planned.variation_id, nonce),
                    )
                )
            return VariationOutcome(planned.variation_id, planned.model, result, stdout, check)

        outcomes, stopping = await finish_all(
            {p.variation_id: finish(p, ran) for p, ran in zip(plan, runs, strict=True)},
            {p.variation_id: p.model for p in plan},
            need,
        )
        # The judge: after the variations (and early stop), before synthesis and the ranking.
        asked = JudgeRequest(
            judge_model, judge_instructions, prompt, check_command, base, api_key, binding, nonce
        )
        outcomes, judged = await judge_outcomes(outcomes, asked)
        details: dict[str, object] = {"early_stop": stopping, "judge": judged}
        if synthesize_top:

            async def run_one(vid: int, model: str, text: str) -> VariationOutcome:
                planned = PlannedVariation(vid, model)
                with_prompt = dataclasses.replace(settings, prompt=text)
                (ran,) = fan_out(
                    workspace, [planned], with_prompt, api_key=api_key, gateway=binding
                )
                return await finish(planned, ran)

            made, details["synthesis"] = await synthesize(
                outcomes,
                top=synthesize_top,
                model=synthesis_model or plan[0].model,
                task=prompt,
                run_one=run_one,
            )
            outcomes += [made] if made is not None else []
            made_id = None if made is None else made.variation_id
            outcomes, judged = await judge_again(outcomes, judged, made_id, asked)
            details["judge"] = judged
        report = build_report(
            outcomes,
            prompt=prompt,
            repo={"url": repo_url or "(local directory)", "ref": ref, "base_sha": base_sha},
            check_command=check_command,
            details=details,
        )
        return report_directory(report, render_markdown(report), outcomes)
