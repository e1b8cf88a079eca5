import ArgumentParser

/// A command whose help ends with examples, as docker's reference pages do. Every command
/// `skiff --help` lists has two or three; `skiff generate-docs --check` parses each one against
/// the command definitions (so an example with a flag that no longer exists fails the tests), and
/// docs/cli.md and the man pages are generated with them.
protocol CommandWithExamples {
    static var examples: [String] { get }
}

extension Skiff: CommandWithExamples {
    static let examples = ["skiff run --rm busybox echo hello", "skiff --root /srv/skiff ps -a", "skiff help run"]
}
extension RunCommand: CommandWithExamples {
    static let examples = [
        "skiff run --rm busybox echo hello",
        "skiff run -d --name web -p 127.0.0.1:8080:80 -v site:/www busybox httpd -f -p 80 -h /www",
        "skiff run -it --rm --memory 256m --cpus 1.5 -e MODE=dev busybox sh",
    ]
}
extension CreateCommand: CommandWithExamples {
    static let examples = ["skiff create --name job busybox sh -c 'echo done'", "skiff create --vm --name isolated busybox sleep 3600"]
}
extension StartCommand: CommandWithExamples {
    static let examples = ["skiff start job", "skiff start -a -i job"]
}
extension PsCommand: CommandWithExamples {
    static let examples = [
        "skiff ps -a", "skiff ps --filter status=exited --filter label=team=web -q",
        "skiff ps --format 'table {{.Names}}\\t{{.Status}}\\t{{.Ports}}'",
    ]
}
extension ContainerListCommand: CommandWithExamples {
    static let examples = ["skiff container ls -a", "skiff container ls --filter ancestor=busybox --format '{{.ID}} {{.Image}}'"]
}
extension LogsCommand: CommandWithExamples {
    static let examples = ["skiff logs web", "skiff logs -f --tail 20 -t web", "skiff logs --since 10m web"]
}
extension StopCommand: CommandWithExamples {
    static let examples = ["skiff stop web", "skiff stop -t 30 web db"]
}
extension KillCommand: CommandWithExamples {
    static let examples = ["skiff kill web", "skiff kill -s HUP web"]
}
extension RmCommand: CommandWithExamples {
    static let examples = ["skiff rm job", "skiff rm -f -v web"]
}
extension WaitCommand: CommandWithExamples {
    static let examples = ["skiff wait job", "skiff wait job web"]
}
extension InspectCommand: CommandWithExamples {
    static let examples = [
        "skiff inspect web", "skiff inspect -f '{{.State.Status}} {{.NetworkSettings.IPAddress}}' web",
        "skiff inspect --type image busybox",
    ]
}
extension ExecCommand: CommandWithExamples {
    static let examples = ["skiff exec web ps", "skiff exec -it web sh", "skiff exec -d -e MODE=debug -w /tmp web touch started"]
}
extension AttachCommand: CommandWithExamples {
    static let examples = ["skiff attach web", "skiff attach --no-stdin --detach-keys ctrl-x web"]
}
extension RestartCommand: CommandWithExamples {
    static let examples = ["skiff restart web", "skiff restart -t 5 web db"]
}
extension TopCommand: CommandWithExamples {
    static let examples = ["skiff top web", "skiff top web -o pid,comm"]
}
extension StatsCommand: CommandWithExamples {
    static let examples = ["skiff stats", "skiff stats --no-stream web", "skiff stats --no-stream --format json"]
}
extension CpCommand: CommandWithExamples {
    static let examples = ["skiff cp web:/etc/hostname .", "skiff cp ./site web:/www", "skiff cp web:/var/log - > logs.tar"]
}
extension RenameCommand: CommandWithExamples {
    static let examples = ["skiff rename web frontend", "skiff rename 4f2a1b frontend"]
}
extension PortCommand: CommandWithExamples {
    static let examples = ["skiff port web", "skiff port web 80/tcp"]
}
extension PauseCommand: CommandWithExamples {
    static let examples = ["skiff pause web", "skiff pause web db"]
}
extension UnpauseCommand: CommandWithExamples {
    static let examples = ["skiff unpause web", "skiff unpause web db"]
}
extension UpdateCommand: CommandWithExamples {
    static let examples = ["skiff update --memory 512m --cpus 2 web", "skiff update --restart unless-stopped web"]
}
extension ContainerPruneCommand: CommandWithExamples {
    static let examples = ["skiff container prune -f", "skiff container prune -f --filter label=team=web"]
}
extension VolumeCreateCommand: CommandWithExamples {
    static let examples = ["skiff volume create data", "skiff volume create --label team=web site"]
}
extension VolumeListCommand: CommandWithExamples {
    static let examples = ["skiff volume ls", "skiff volume ls --filter dangling=true -q"]
}
extension VolumeRemoveCommand: CommandWithExamples {
    static let examples = ["skiff volume rm data", "skiff volume rm data site"]
}
extension VolumeInspectCommand: CommandWithExamples {
    static let examples = ["skiff volume inspect data", "skiff volume inspect -f '{{.Mountpoint}}' data"]
}
extension VolumePruneCommand: CommandWithExamples {
    static let examples = ["skiff volume prune -f", "skiff volume prune -f -a"]
}
extension SystemDfCommand: CommandWithExamples {
    static let examples = ["skiff system df", "skiff --root /srv/skiff system df"]
}
extension SystemInfoCommand: CommandWithExamples {
    static let examples = ["skiff system info", "skiff system info --format '{{json .}}'"]
}
extension SystemCheckCommand: CommandWithExamples {
    static let examples = ["skiff system check", "skiff system check --repair"]
}
extension SystemServiceCommand: CommandWithExamples {
    static let examples = [
        "skiff system service", "skiff system service --host unix:///tmp/skiff.sock",
        "skiff system service --host tcp://127.0.0.1:2375",
    ]
}
extension SystemPruneCommand: CommandWithExamples {
    static let examples = ["skiff system prune -f", "skiff system prune -f -a --volumes"]
}
extension InfoCommand: CommandWithExamples {
    static let examples = ["skiff info", "skiff info --format '{{.ServerVersion}}'"]
}
extension VersionCommand: CommandWithExamples {
    static let examples = ["skiff version", "skiff version --format '{{.Client.Version}}'"]
}
extension CompletionCommand: CommandWithExamples {
    static let examples = ["skiff completion bash > /etc/bash_completion.d/skiff", "skiff completion zsh", "skiff completion fish"]
}
extension NetworkCreateCommand: CommandWithExamples {
    static let examples = [
        "skiff network create app-net", "skiff network create --subnet 10.99.0.0/24 --gateway 10.99.0.1 --label team=web web-net",
        "skiff network create --internal --opt com.docker.network.driver.mtu=1400 backend-net",
    ]
}
extension NetworkListCommand: CommandWithExamples {
    static let examples = [
        "skiff network ls", "skiff network ls -q --filter label=team=web", "skiff network ls --format '{{.Name}} {{.Label \"team\"}}'",
    ]
}
extension NetworkRemoveCommand: CommandWithExamples {
    static let examples = ["skiff network rm app-net", "skiff network rm app-net web-net"]
}
extension NetworkInspectCommand: CommandWithExamples {
    static let examples = ["skiff network inspect app-net", "skiff network inspect -f '{{json .IPAM}}' app-net"]
}
extension NetworkConnectCommand: CommandWithExamples {
    static let examples = ["skiff network connect app-net web", "skiff network connect --alias api --ip 10.99.0.50 web-net web"]
}
extension NetworkDisconnectCommand: CommandWithExamples {
    static let examples = ["skiff network disconnect app-net web", "skiff network disconnect -f app-net web"]
}
extension NetworkPruneCommand: CommandWithExamples {
    static let examples = ["skiff network prune -f", "skiff network prune"]
}
extension EventsCommand: CommandWithExamples {
    static let examples = [
        "skiff events", "skiff events --since 10m --until 0s --filter type=container",
        "skiff events --filter event=die --format '{{.Actor.Attributes.name}} {{.Status}}'",
    ]
}
extension PullCommand: CommandWithExamples {
    static let examples = ["skiff pull busybox", "skiff pull 127.0.0.1:5000/app:1", "skiff pull --platform linux/arm64 busybox"]
}
extension PushCommand: CommandWithExamples {
    static let examples = ["skiff push 127.0.0.1:5000/app:1", "skiff push registry.example.com/team/app:1"]
}
extension ImagesCommand: CommandWithExamples {
    static let examples = ["skiff images", "skiff images -a --digests", "skiff images --filter dangling=true -q"]
}
extension ImageListCommand: CommandWithExamples {
    static let examples = ["skiff image ls", "skiff image ls busybox --format '{{.Repository}}:{{.Tag}} {{.Size}}'"]
}
extension ImageRemoveCommand: CommandWithExamples {
    static let examples = ["skiff image rm app:1", "skiff image rm -f app:1"]
}
extension ImageInspectCommand: CommandWithExamples {
    static let examples = ["skiff image inspect busybox", "skiff image inspect -f '{{.Config.Cmd}}' busybox"]
}
extension ImagePruneCommand: CommandWithExamples {
    static let examples = ["skiff image prune -f", "skiff image prune -f -a"]
}
extension TagCommand: CommandWithExamples {
    static let examples = ["skiff tag busybox 127.0.0.1:5000/tools/busybox:1", "skiff tag app:1 app:latest"]
}
extension RmiCommand: CommandWithExamples {
    static let examples = ["skiff rmi app:1", "skiff rmi -f app:1 app:2"]
}
extension LoadCommand: CommandWithExamples {
    static let examples = ["skiff load -i images.tar", "skiff load < images.tar"]
}
extension SaveCommand: CommandWithExamples {
    static let examples = ["skiff save -o images.tar busybox app:1", "skiff save busybox > busybox.tar"]
}
extension LoginCommand: CommandWithExamples {
    static let examples = ["skiff login -u alice --password-stdin registry.example.com < password.txt", "skiff login 127.0.0.1:5000"]
}
extension LogoutCommand: CommandWithExamples {
    static let examples = ["skiff logout registry.example.com", "skiff logout 127.0.0.1:5000"]
}
extension BuildCommand: CommandWithExamples {
    static let examples = [
        "skiff build -t app:1 .", "skiff build --pull -t app:1 -f Containerfile --build-arg VERSION=2 --target runtime .",
        "skiff build -t app:1 - < Dockerfile",
    ]
}
extension HistoryCommand: CommandWithExamples {
    static let examples = ["skiff history app:1", "skiff history --no-trunc app:1"]
}
extension BuilderPruneCommand: CommandWithExamples {
    static let examples = ["skiff builder prune -f", "skiff builder prune"]
}
extension CommitCommand: CommandWithExamples {
    static let examples = ["skiff commit web app:snapshot", "skiff commit -m 'add config' -c 'CMD [\"httpd\", \"-f\"]' web app:2"]
}
extension DiffCommand: CommandWithExamples {
    static let examples = ["skiff diff web", "skiff diff 4f2a1b"]
}
extension ExportCommand: CommandWithExamples {
    static let examples = ["skiff export -o fs.tar web", "skiff export web > fs.tar"]
}
extension ImportCommand: CommandWithExamples {
    static let examples = ["skiff import fs.tar app:imported", "skiff import -c 'CMD [\"sh\"]' fs.tar app:imported"]
}
extension VMRun: CommandWithExamples {
    static let examples = [
        "skiff vm run --kernel bzImage --initrd initrd.cpio --memory 256",
        "skiff vm run --kernel vmlinux --cpus 2 --disk rootfs.ext4 --net tap=tap0 --cmdline 'console=ttyS0 reboot=k panic=1'",
    ]
}
extension VMInitramfs: CommandWithExamples {
    static let examples = ["skiff vm initramfs -o /tmp/initrd.cpio", "skiff vm initramfs -o initrd.cpio"]
}
extension SearchCommand: CommandWithExamples {
    static let examples = [
        "skiff search 127.0.0.1:5000/busy", "skiff search --limit 5 registry.example.com/team",
        "skiff search --format '{{.Name}}' 127.0.0.1:5000/app",
    ]
}
extension VMKernelBuild: CommandWithExamples {
    static let examples = ["skiff vm kernel build", "skiff vm kernel build && skiff vm kernel show"]
}
extension VMKernelShow: CommandWithExamples {
    static let examples = ["skiff vm kernel show", "skiff vm kernel show && skiff info --format '{{json .}}'"]
}
extension VMKernelConfig: CommandWithExamples {
    static let examples = ["skiff vm kernel config", "skiff vm kernel config > microvm.config"]
}
