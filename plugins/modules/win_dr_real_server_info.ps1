#!powershell
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Reads only; the decisions are made in Python (module_utils/windows.py).
$spec = @{
    options = @{
        loopback_adapter = @{ type = 'str'; default = 'loopback' }
        lan_adapter = @{ type = 'str'; default = '' }
        address = @{ type = 'str'; default = '' }
        firewall_rule = @{ type = 'str'; default = 'lbstack-real-server-dr' }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$loopbackName = $module.Params.loopback_adapter

$adapter = Get-NetAdapter -Name $loopbackName -ErrorAction SilentlyContinue
$loopback = @{ name = $loopbackName; present = $null -ne $adapter; ours = $false; bindings = @{} }
if ($adapter) {
    $loopback.ours = $adapter.InterfaceDescription -like 'Microsoft KM-TEST Loopback Adapter*'
    foreach ($binding in Get-NetAdapterBinding -Name $loopbackName -ErrorAction SilentlyContinue) {
        $loopback.bindings[$binding.ComponentID] = [bool]$binding.Enabled
    }
}

$lan = $module.Params.lan_adapter
if (-not $lan) {
    if (-not $module.Params.address) {
        $module.FailJson('real_server_windows_lan_adapter or real_server_address: one of them names the client-facing adapter')
    }
    $held = Get-NetIPAddress -IPAddress $module.Params.address -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $held) {
        $module.FailJson("real_server_address: no adapter of this host has the address $($module.Params.address)")
    }
    $lan = $held.InterfaceAlias
}
if (-not (Get-NetAdapter -Name $lan -ErrorAction SilentlyContinue)) {
    $module.FailJson("real_server_windows_lan_adapter: this host has no adapter named '$lan'")
}

$addresses = [System.Collections.Generic.List[Hashtable]]@()
$interfaces = @{ ipv4 = @{}; ipv6 = @{} }
foreach ($family in 'IPv4', 'IPv6') {
    $key = $family.ToLowerInvariant()
    $aliases = @($lan)
    if ($adapter) { $aliases += $loopbackName }
    foreach ($alias in $aliases) {
        $ipInterface = Get-NetIPInterface -InterfaceAlias $alias -AddressFamily $family -ErrorAction SilentlyContinue
        if ($ipInterface) {
            $interfaces[$key][$alias] = @{
                weakhostreceive = $ipInterface.WeakHostReceive.ToString().ToLowerInvariant()
                weakhostsend = $ipInterface.WeakHostSend.ToString().ToLowerInvariant()
                dadtransmits = [int]$ipInterface.DadTransmits
            }
        }
    }
    if ($adapter) {
        $found = Get-NetIPAddress -InterfaceAlias $loopbackName -AddressFamily $family -ErrorAction SilentlyContinue
        foreach ($ip in $found) {
            # Link-local and automatic (APIPA) addresses are the system's, not VIPs.
            if ($ip.PrefixOrigin -in 'WellKnown', 'RouterAdvertisement' -or $ip.SuffixOrigin -in 'Link', 'Random') { continue }
            if ($ip.IPAddress -like 'fe80:*' -or $ip.IPAddress -like '169.254.*') { continue }
            $addresses.Add(@{ family = $key; address = $ip.IPAddress; prefix = [int]$ip.PrefixLength })
        }
    }
}

$firewall = $null
$rule = Get-NetFirewallRule -Name $module.Params.firewall_rule -ErrorAction SilentlyContinue
if ($rule) {
    $addressFilter = $rule | Get-NetFirewallAddressFilter
    $portFilter = $rule | Get-NetFirewallPortFilter
    $firewall = @{
        name = $module.Params.firewall_rule
        addresses = @($addressFilter.LocalAddress | Where-Object { $_ -ne 'Any' } | Sort-Object)
        ports = @($portFilter.LocalPort | Where-Object { $_ -ne 'Any' } | ForEach-Object { [int]$_ } | Sort-Object)
    }
}

$module.Result.loopback = $loopback
$module.Result.lan_adapter = $lan
$module.Result.addresses = $addresses
$module.Result.interfaces = $interfaces
$module.Result.firewall = $firewall
$module.ExitJson()
