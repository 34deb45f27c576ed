<#
.SYNOPSIS
    Proves isoagent's hcs driver on a real Windows Server: what the tests under Wine cannot.

.DESCRIPTION
    Run it in an elevated Windows PowerShell (5.1 or later) on a Windows Server 2019, 2022 or
    2025 host with the Containers feature and Docker (for the images and its nat network). It
    runs its own agent (isoagent run, owner isoagent-smoke, its own folders under -WorkDir and
    its own --listen address), so it stays clear of an isoagent service the host may have, and
    prints PASS or FAIL for each check:

      doctor            isoagent doctor finds nothing missing
      image             the smoke image builds (servercore of the host's release, WORKDIR
                        C:\smoke, USER ContainerUser, a relative CMD)
      pull-import       isoagent pull brings nanoserver of the host's release from MCR into the
                        agent's own store (ociwclayer's import, under the state folder's Images),
                        and a second pull imports no layer again
      converge          the agent brings the host to the spec folder
      process-port      a process-isolated container answers on its nat port
      image-user        it runs as the image's user (ContainerUser), no user: in the spec
      image-workdir     it starts in the image's working folder (C:\smoke)
      hostname          it has the spec's host name
      process-dns       a name resolves inside it (its DNS servers come from network.dns)
      hyperv            with the Hyper-V role: a Hyper-V isolated container answers on its nat
                        port and resolves names, in a utility VM; without it: the spec is
                        refused with the fix (Install-WindowsFeature Hyper-V)
      unc-refused       a mount of a UNC share is refused, naming New-SmbGlobalMapping
      docker-restart    after Restart-Service docker (which deletes the nat endpoints), the
                        container answers again
      exit-agent-down   a container that exits while the agent is down is restarted by its
                        restart policy when the agent comes back
      reboot            after a restart of the host, the container answers again
      cleanup           an empty spec folder applied with --allow-empty removes every container

    The reboot is real: the script records where it was in -WorkDir\smoke-state.json, restarts
    the host, and carries on when it is run again (the same command line) after the restart.
    -SkipReboot leaves that check out. Nothing here is simulated; a check that cannot run says
    FAIL with why.

.EXAMPLE
    .\windows-smoke.ps1 -Isoagent 'C:\Program Files\isoagent\isoagent.exe'
    # ... the host restarts; log on again and run the same line:
    .\windows-smoke.ps1 -Isoagent 'C:\Program Files\isoagent\isoagent.exe'
#>
[CmdletBinding()]
param(
    # isoagent.exe to prove.
    [string]$Isoagent = 'C:\Program Files\isoagent\isoagent.exe',
    # Folder of the smoke run: its specs, policy, agent state and logs. Made writable by
    # administrators only.
    [string]$WorkDir = 'C:\ProgramData\isoagent-smoke',
    # A name the containers resolve (the DNS check).
    [string]$DnsName = 'mcr.microsoft.com',
    # Host ports of the process-isolated and the Hyper-V isolated container.
    [int]$ProcessPort = 18080,
    [int]$HyperVPort = 18081,
    # Leave out the reboot check.
    [switch]$SkipReboot,
    # Leave the smoke containers running at the end (no cleanup check).
    [switch]$KeepContainers,
    # Start again from the beginning, forgetting a run that was interrupted.
    [switch]$Restart
)

# Version 1 only: the agent's /status leaves empty fields out, which later versions would make
# an error to read.
Set-StrictMode -Version 1.0
$ErrorActionPreference = 'Stop'

$Owner = 'isoagent-smoke'
$Listen = '127.0.0.1:9751'
$SpecDir = Join-Path $WorkDir 'specs'
$EmptyDir = Join-Path $WorkDir 'empty'
$PolicyFile = Join-Path $WorkDir 'policy.yaml'
$StateDir = Join-Path $WorkDir 'state'
$ImageDir = Join-Path $WorkDir 'image'
$StateFile = Join-Path $WorkDir 'smoke-state.json'
$AgentLog = Join-Path $WorkDir 'agent.log'
$Image = 'isoagent-smoke:web'

# --- results and the record of where the run is --------------------------------------------

function New-RunState {
    [pscustomobject]@{ Phase = 'start'; BootTime = ''; AgentPid = 0; Results = @() }
}

function Save-RunState($state) {
    $state | ConvertTo-Json -Depth 5 | Set-Content -Path $StateFile -Encoding UTF8
}

function Read-RunState {
    if ($Restart -or -not (Test-Path $StateFile)) { return New-RunState }
    $s = Get-Content -Raw -Path $StateFile | ConvertFrom-Json
    if ($null -eq $s.Results) { $s.Results = @() }
    return $s
}

function Add-Result($state, [string]$check, [bool]$ok, [string]$detail) {
    $status = if ($ok) { 'PASS' } else { 'FAIL' }
    $state.Results = @($state.Results) + [pscustomobject]@{ Check = $check; Status = $status; Detail = $detail }
    Save-RunState $state
    $color = if ($ok) { 'Green' } else { 'Red' }
    Write-Host ('{0}  {1,-16} {2}' -f $status, $check, $detail) -ForegroundColor $color
}

# Check runs $test, a script block that returns a detail string on success and throws with
# the reason on failure, and records the outcome.
function Invoke-Check($state, [string]$check, [scriptblock]$test) {
    try {
        $detail = & $test
        Add-Result $state $check $true ([string]$detail)
        return $true
    } catch {
        Add-Result $state $check $false $_.Exception.Message
        return $false
    }
}

# --- waiting, the agent, HTTP ----------------------------------------------------------------

# Wait-Until calls $probe until it returns something other than $null or $false, or $timeout
# seconds pass; it returns the last answer, or throws $what with the last error.
function Wait-Until([int]$timeout, [string]$what, [scriptblock]$probe) {
    $deadline = (Get-Date).AddSeconds($timeout)
    $lastError = ''
    while ((Get-Date) -lt $deadline) {
        try {
            $r = & $probe
            if ($r) { return $r }
        } catch { $lastError = $_.Exception.Message }
        Start-Sleep -Seconds 2
    }
    if ($lastError) { throw "$what (after $timeout s; last error: $lastError)" }
    throw "$what (after $timeout s)"
}

# Invoke-Native runs a program and returns its exit code and output, stderr included: Windows
# PowerShell turns a native program's stderr lines into errors, which 'Stop' would throw.
function Invoke-Native([string]$program, [string[]]$arguments) {
    $ErrorActionPreference = 'Continue'
    $out = & $program @arguments 2>&1 | ForEach-Object { "$_" } | Out-String
    [pscustomobject]@{ Code = $LASTEXITCODE; Output = $out.Trim() }
}

function Invoke-Isoagent([string[]]$arguments) { Invoke-Native $Isoagent $arguments }

function Start-Agent($state, [string]$dir) {
    $agentArgs = @('run', '--dir', $dir, '--policy', $PolicyFile, '--driver', 'hcs', '--owner', $Owner,
        '--hcs-state-dir', $StateDir, '--listen', $Listen, '--resync', '10s',
        '--log-format', 'json', '--log-file', $AgentLog)
    if ($dir -eq $EmptyDir) { $agentArgs += '--allow-empty' }
    # Start-Process joins its arguments with spaces as they are: quote each.
    $quoted = $agentArgs | ForEach-Object { '"' + $_ + '"' }
    $p = Start-Process -FilePath $Isoagent -ArgumentList $quoted -PassThru -WindowStyle Hidden `
        -RedirectStandardError (Join-Path $WorkDir 'agent.stderr.log')
    $state.AgentPid = $p.Id
    Save-RunState $state
    Wait-Until 60 'the agent does not answer on its --listen address' {
        if ($p.HasExited) { throw "the agent exited with $($p.ExitCode); see $AgentLog" }
        (Invoke-WebRequest -UseBasicParsing -TimeoutSec 5 "http://$Listen/healthz").StatusCode -eq 200
    } | Out-Null
}

function Stop-Agent($state) {
    if ($state.AgentPid -and (Get-Process -Id $state.AgentPid -ErrorAction SilentlyContinue)) {
        Stop-Process -Id $state.AgentPid -Force
        Wait-Process -Id $state.AgentPid -Timeout 30 -ErrorAction SilentlyContinue
    }
    $state.AgentPid = 0
    Save-RunState $state
}

function Get-AgentStatus {
    Invoke-RestMethod -UseBasicParsing -TimeoutSec 10 "http://$Listen/status"
}

function Get-ContainerStatus([string]$name) {
    $st = Get-AgentStatus
    $c = @($st.containers | Where-Object { $_.name -eq $name })
    if ($c.Count -eq 0) { throw "the agent has no container named $name" }
    return $c[0]
}

function Wait-Converged([int]$timeout = 300) {
    $r = Invoke-Isoagent @('wait', '--addr', $Listen, '--timeout', "${timeout}s")
    if ($r.Code -ne 0) { throw "isoagent wait: exit $($r.Code): $($r.Output)" }
    return $r.Output
}

# The host's address for reaching its nat port mappings: WinNAT does not map ports for
# connections from the host to its loopback address on every build, so the host's own IPv4
# address on its default route is used.
function Get-HostAddress {
    $cfg = Get-NetIPConfiguration | Where-Object { $_.IPv4DefaultGateway -and $_.IPv4Address } | Select-Object -First 1
    if ($null -eq $cfg) { throw 'the host has no IPv4 address with a default gateway' }
    return @($cfg.IPv4Address)[0].IPAddress
}

function Get-Page([int]$port, [string]$path = '/') {
    $addr = Get-HostAddress
    (Invoke-WebRequest -UseBasicParsing -TimeoutSec 10 "http://${addr}:$port$path").Content.Trim()
}

function Wait-Page([int]$port, [string]$path, [int]$timeout, [string]$what) {
    Wait-Until $timeout $what {
        $body = Get-Page $port $path
        if ($body) { $body } else { $null }
    }
}

# --- the smoke run's files -------------------------------------------------------------------

function Get-Release {
    $build = [Environment]::OSVersion.Version.Build
    switch ($build) {
        17763 { return 'ltsc2019' }
        20348 { return 'ltsc2022' }
        26100 { return 'ltsc2025' }
    }
    throw "host build $build is not a Windows Server LTSC release this script knows (17763, 20348, 26100)"
}

function Protect-Folder([string]$path) {
    New-Item -ItemType Directory -Force -Path $path | Out-Null
    # ProgramData lets every user create files in its subfolders: keep this one to administrators.
    & icacls.exe $path /setowner Administrators | Out-Null
    & icacls.exe $path /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls $path failed" }
}

function Write-SmokeFiles {
    Protect-Folder $WorkDir
    foreach ($d in @($SpecDir, $EmptyDir, $StateDir, $ImageDir)) { New-Item -ItemType Directory -Force -Path $d | Out-Null }

    # The image: a tiny HTTP server in PowerShell, started by a relative CMD from its WORKDIR,
    # as its USER. /whoami, /pwd, /hostname and /dns/NAME say what the container sees.
    @'
$listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Any, 8080)
$listener.Start()
while ($true) {
    $client = $listener.AcceptTcpClient()
    try {
        $stream = $client.GetStream()
        $reader = New-Object System.IO.StreamReader($stream)
        $request = $reader.ReadLine()
        while ($true) { $h = $reader.ReadLine(); if ($null -eq $h -or $h -eq '') { break } }
        $path = ($request -split ' ')[1]
        if ($path -eq '/whoami') { $body = [Environment]::UserName }
        elseif ($path -eq '/pwd') { $body = (Get-Location).Path }
        elseif ($path -eq '/hostname') { $body = [Environment]::MachineName }
        elseif ($path -like '/dns/*') {
            $name = $path.Substring(5)
            try { $body = 'ok ' + ([System.Net.Dns]::GetHostAddresses($name) | Select-Object -First 1).IPAddressToString }
            catch { $body = 'fail ' + $_.Exception.InnerException.Message }
        }
        else { $body = 'isoagent-smoke' }
        $bytes = [System.Text.Encoding]::UTF8.GetBytes($body)
        $head = [System.Text.Encoding]::ASCII.GetBytes("HTTP/1.1 200 OK`r`nContent-Type: text/plain; charset=utf-8`r`nContent-Length: $($bytes.Length)`r`nConnection: close`r`n`r`n")
        $stream.Write($head, 0, $head.Length)
        $stream.Write($bytes, 0, $bytes.Length)
    } catch {
    } finally {
        $client.Close()
    }
}
'@ | Set-Content -Path (Join-Path $ImageDir 'serve.ps1') -Encoding ASCII
    $release = Get-Release
    @"
FROM mcr.microsoft.com/windows/servercore:$release
WORKDIR /smoke
COPY serve.ps1 .
USER ContainerUser
CMD ["powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", "serve.ps1"]
"@ | Set-Content -Path (Join-Path $ImageDir 'Dockerfile') -Encoding ASCII

    @"
apiVersion: isoagent/v1
kind: Policy
isolation: [process, hyperv]
ports: ['$ProcessPort/tcp', '$HyperVPort/tcp']
"@ | Set-Content -Path $PolicyFile -Encoding UTF8

    $dns = ''
    $server = Get-DnsClientServerAddress -AddressFamily IPv4 |
        Where-Object { $_.ServerAddresses -and $_.InterfaceAlias -notlike 'vEthernet*' -and $_.InterfaceAlias -notlike 'Loopback*' } |
        Select-Object -First 1
    if ($server) { $dns = ", dns: [$(@($server.ServerAddresses)[0])]" }
    @"
# Written by scripts/windows-smoke.ps1.
apiVersion: isoagent/v1
kind: Container
metadata: {name: smoke-web}
spec:
  image: $Image
  isolation: process
  hostname: smoke-web
  ports: [{hostPort: $ProcessPort, containerPort: 8080}]
  network: {mode: nat$dns}
---
apiVersion: isoagent/v1
kind: Container
metadata: {name: smoke-hyperv}
spec:
  image: $Image
  isolation: hyperv
  ports: [{hostPort: $HyperVPort, containerPort: 8080}]
---
apiVersion: isoagent/v1
kind: Container
metadata: {name: smoke-exit}
spec:
  image: $Image
  command: [powershell.exe, '-NoProfile', '-Command', 'Start-Sleep -Seconds 45; exit 3']
  restartPolicy: on-failure
---
apiVersion: isoagent/v1
kind: Container
metadata: {name: smoke-unc}
spec:
  image: $Image
  mounts:
    - {hostPath: '\\localhost\C$\Windows\Temp', containerPath: 'C:\unc', readOnly: true}
"@ | Set-Content -Path (Join-Path $SpecDir 'smoke.yaml') -Encoding UTF8
}

function Test-HyperVRole {
    $f = Get-WindowsFeature -Name Hyper-V -ErrorAction SilentlyContinue
    return ($null -ne $f -and $f.Installed)
}

# --- the checks, phase by phase --------------------------------------------------------------

function Invoke-StartPhase($state) {
    Write-SmokeFiles

    Invoke-Check $state 'doctor' {
        $r = Invoke-Isoagent @('doctor', '--driver', 'hcs', '--dir', $SpecDir, '--policy', $PolicyFile, '--hcs-state-dir', $StateDir)
        if ($r.Code -ne 0) { throw "isoagent doctor: exit $($r.Code):`n$($r.Output)" }
        ($r.Output -split "`n" | Select-Object -Last 1)
    } | Out-Null

    $built = Invoke-Check $state 'image' {
        $r = Invoke-Native 'docker.exe' @('build', '--quiet', '--tag', $Image, $ImageDir)
        if ($r.Code -ne 0) { throw "docker build: $($r.Output)" }
        "built $Image from servercore:$(Get-Release)"
    }
    if (-not $built) { return $false }

    Invoke-Check $state 'pull-import' {
        $ref = "mcr.microsoft.com/windows/nanoserver:$(Get-Release)"
        $r = Invoke-Isoagent @('pull', '--driver', 'hcs', '--hcs-state-dir', $StateDir, $ref)
        if ($r.Code -ne 0) { throw "isoagent pull ${ref}: exit $($r.Code):`n$($r.Output)" }
        $layers = Join-Path $StateDir 'Images\Layers'
        $imported = @(Get-ChildItem $layers -Directory | Where-Object { Test-Path (Join-Path $_.FullName '.isoagent-complete') })
        if ($imported.Count -eq 0) { throw "no imported layer folder under $layers after the pull" }
        $before = @(Get-ChildItem $layers -Directory | ForEach-Object { $_.LastWriteTimeUtc })
        $again = Invoke-Isoagent @('pull', '--driver', 'hcs', '--hcs-state-dir', $StateDir, $ref)
        if ($again.Code -ne 0) { throw "second isoagent pull: exit $($again.Code):`n$($again.Output)" }
        $after = @(Get-ChildItem $layers -Directory | ForEach-Object { $_.LastWriteTimeUtc })
        if (Compare-Object $before $after) { throw "the second pull changed the layer folders under $layers" }
        "$($imported.Count) layer(s) imported under $layers; a second pull imported none"
    } | Out-Null

    Start-Agent $state $SpecDir
    # smoke-exit restarts now and then and smoke-unc is refused: the host converges regardless.
    Invoke-Check $state 'converge' { Wait-Converged 600 } | Out-Null

    Invoke-Check $state 'process-port' {
        $body = Wait-Page $ProcessPort '/' 120 "nothing answers on host port $ProcessPort"
        if ($body -ne 'isoagent-smoke') { throw "host port $ProcessPort answered '$body'" }
        $c = Get-ContainerStatus 'smoke-web'
        if ($c.effectiveIsolation -ne 'process' -or -not $c.initPid) { throw "smoke-web: isolation $($c.effectiveIsolation), init PID $($c.initPid)" }
        "host port $ProcessPort answers; process isolation, init process PID $($c.initPid) on the host"
    } | Out-Null
    Invoke-Check $state 'image-user' {
        $u = Get-Page $ProcessPort '/whoami'
        if ($u -ne 'ContainerUser') { throw "the container runs as '$u', not the image's ContainerUser" }
        "runs as $u"
    } | Out-Null
    Invoke-Check $state 'image-workdir' {
        $d = Get-Page $ProcessPort '/pwd'
        if ($d -ne 'C:\smoke') { throw "the container starts in '$d', not the image's C:\smoke" }
        "starts in $d, where the image's relative CMD is"
    } | Out-Null
    Invoke-Check $state 'hostname' {
        $h = Get-Page $ProcessPort '/hostname'
        if ($h -ne 'SMOKE-WEB') { throw "the container's computer name is '$h', not the spec's smoke-web" }
        "computer name $h"
    } | Out-Null
    Invoke-Check $state 'process-dns' {
        $r = Get-Page $ProcessPort "/dns/$DnsName"
        if (-not $r.StartsWith('ok ')) { throw "$DnsName does not resolve in the container: $r" }
        "$DnsName is $($r.Substring(3)) in the container"
    } | Out-Null

    if (Test-HyperVRole) {
        Invoke-Check $state 'hyperv' {
            $body = Wait-Page $HyperVPort '/' 300 "nothing answers on host port $HyperVPort"
            if ($body -ne 'isoagent-smoke') { throw "host port $HyperVPort answered '$body'" }
            $c = Get-ContainerStatus 'smoke-hyperv'
            if ($c.effectiveIsolation -ne 'hyperv' -or $null -eq $c.utilityVM) { throw "smoke-hyperv: isolation $($c.effectiveIsolation), utility VM $($c.utilityVM)" }
            $r = Get-Page $HyperVPort "/dns/$DnsName"
            if (-not $r.StartsWith('ok ')) { throw "$DnsName does not resolve in the Hyper-V container: $r" }
            "host port $HyperVPort answers from utility VM $($c.utilityVM.id) (vmwp $($c.utilityVM.pid)); $DnsName resolves"
        } | Out-Null
    } else {
        Invoke-Check $state 'hyperv' {
            $c = Get-ContainerStatus 'smoke-hyperv'
            if ($null -eq $c.rejection -or $c.rejection.reason -ne 'unsupported' -or $c.rejection.message -notlike '*Install-WindowsFeature Hyper-V*') {
                throw "without the Hyper-V role smoke-hyperv is $($c.state), not refused with the fix: $($c.rejection | ConvertTo-Json -Compress)"
            }
            "no Hyper-V role: refused, $($c.rejection.field): $($c.rejection.message)"
        } | Out-Null
    }

    Invoke-Check $state 'unc-refused' {
        $c = Get-ContainerStatus 'smoke-unc'
        if ($null -eq $c.rejection -or $c.rejection.reason -ne 'unsupported' -or $c.rejection.message -notlike '*New-SmbGlobalMapping*') {
            throw "smoke-unc is $($c.state), not refused with the SMB global mapping fix: $($c.rejection | ConvertTo-Json -Compress)"
        }
        "refused at $($c.rejection.field)"
    } | Out-Null

    Invoke-Check $state 'docker-restart' {
        $before = (Get-ContainerStatus 'smoke-web').initPid
        Restart-Service -Name docker -Force
        # dockerd deletes the nat endpoints it finds; the agent sees the container without its
        # network at the next relist and replaces it: a new init process, the same config.
        $after = Wait-Until 300 "smoke-web is not replaced, or does not answer on host port $ProcessPort, after Restart-Service docker" {
            $c = Get-ContainerStatus 'smoke-web'
            if ($c.state -ne 'running' -or -not $c.initPid -or $c.initPid -eq $before) { return $null }
            if ((Get-Page $ProcessPort '/') -eq 'isoagent-smoke') { $c.initPid } else { $null }
        }
        "replaced (init PID $before, then $after) and answers again"
    } | Out-Null

    Invoke-Check $state 'exit-agent-down' {
        Wait-Until 120 'smoke-exit does not run' { (Get-ContainerStatus 'smoke-exit').state -eq 'running' } | Out-Null
        Stop-Agent $state
        # Its command exits with 3 after 45 s, while no agent watches it.
        Start-Sleep -Seconds 60
        Start-Agent $state $SpecDir
        $c = Wait-Until 180 'smoke-exit is not restarted after exiting while the agent was down' {
            $c = Get-ContainerStatus 'smoke-exit'
            if ($c.restartCount -ge 1) { $c } else { $null }
        }
        "restarted by restartPolicy on-failure (restarts $($c.restartCount), now $($c.state))"
    } | Out-Null
    return $true
}

function Invoke-Reboot($state) {
    $state.BootTime = [string](Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')
    $state.Phase = 'after-reboot'
    Stop-Agent $state
    Save-RunState $state
    Write-Host ''
    Write-Host "Restarting the host for the reboot check. Afterwards run again: $PSCommandPath $($script:CommandLine)" -ForegroundColor Yellow
    Restart-Computer -Force
    exit 0
}

function Invoke-AfterRebootPhase($state) {
    Invoke-Check $state 'reboot' {
        $boot = (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')
        if ($boot -eq $state.BootTime) { throw 'the host has not restarted since the run asked it to' }
        # Docker makes its nat network again when it starts (Windows Server 2019 does not keep it).
        Wait-Until 300 'the docker service does not run after the restart' { (Get-Service docker).Status -eq 'Running' } | Out-Null
        Start-Agent $state $SpecDir
        $body = Wait-Page $ProcessPort '/' 600 "host port $ProcessPort does not answer after the restart"
        if ($body -ne 'isoagent-smoke') { throw "host port $ProcessPort answered '$body'" }
        $c = Get-ContainerStatus 'smoke-web'
        "booted at $boot; smoke-web answers again ($($c.containerID))"
    } | Out-Null
}

function Invoke-Cleanup($state) {
    if ($KeepContainers) { return }
    Invoke-Check $state 'cleanup' {
        Stop-Agent $state
        Start-Agent $state $EmptyDir
        Wait-Until 300 'the smoke containers are not removed' { @((Get-AgentStatus).containers).Count -eq 0 } | Out-Null
        Stop-Agent $state
        'every smoke container removed'
    } | Out-Null
}

# --- main ------------------------------------------------------------------------------------

$script:CommandLine = ($MyInvocation.BoundParameters.GetEnumerator() | Where-Object { $_.Key -ne 'Restart' } |
    ForEach-Object { if ($_.Value -is [switch]) { "-$($_.Key)" } else { "-$($_.Key) '$($_.Value)'" } }) -join ' '

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Error 'run windows-smoke.ps1 from an elevated PowerShell'
}
if (-not (Test-Path $Isoagent)) { Write-Error "no isoagent.exe at $Isoagent (give -Isoagent)" }
New-Item -ItemType Directory -Force -Path $WorkDir | Out-Null

$state = Read-RunState
if ($state.Phase -ne 'start') {
    Write-Host "Carrying on the run recorded in $StateFile (phase $($state.Phase)); -Restart starts over." -ForegroundColor Yellow
    foreach ($r in @($state.Results)) { Write-Host ('{0}  {1,-16} {2}' -f $r.Status, $r.Check, $r.Detail) }
}

try {
    if ($state.Phase -eq 'start') {
        # A run interrupted before the reboot starts over.
        $state = New-RunState
        Save-RunState $state
        $ok = Invoke-StartPhase $state
        if ($ok -and -not $SkipReboot) { Invoke-Reboot $state }
        $state.Phase = 'finish'
        Save-RunState $state
    }
    if ($state.Phase -eq 'after-reboot') {
        Invoke-AfterRebootPhase $state
        $state.Phase = 'finish'
        Save-RunState $state
    }
    if ($state.Phase -eq 'finish') {
        Invoke-Cleanup $state
        $state.Phase = 'done'
        Save-RunState $state
    }
} finally {
    Stop-Agent $state
}

$failed = @($state.Results | Where-Object { $_.Status -ne 'PASS' })
Write-Host ''
Write-Host ("{0} checks, {1} failed; the agent's log is {2}" -f @($state.Results).Count, $failed.Count, $AgentLog)
Remove-Item -Path $StateFile -ErrorAction SilentlyContinue
if ($failed.Count -gt 0) { exit 1 }
exit 0
