#!powershell
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Carries out a plan made in Python (module_utils/windows.py); decides nothing.
$spec = @{
    options = @{
        plan = @{ type = 'dict'; required = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$plan = $module.Params.plan
$steps = @($plan.steps)

$module.Result.steps = $steps
$module.Result.reboot_required = $false
$module.Result.changed = $steps.Count -gt 0
if ($module.DiffMode) {
    $module.Diff.before = $plan.before
    $module.Diff.after = $plan.after
}
if ($module.CheckMode -or $steps.Count -eq 0) {
    $module.ExitJson()
}

# What devcon's "install netloop.inf *MSLOOP" does: a root-enumerated device of
# the Net class with the loopback adapter's hardware ID, registered, then its
# driver installed. Removal: the device's instance removed.
$loopbackCode = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;

namespace Lbstack.RealServer
{
    public static class LoopbackAdapter
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct SP_DEVINFO_DATA
        {
            public int cbSize;
            public Guid ClassGuid;
            public int DevInst;
            public IntPtr Reserved;
        }

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern IntPtr SetupDiCreateDeviceInfoList(ref Guid classGuid, IntPtr hwndParent);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiCreateDeviceInfoW(IntPtr deviceInfoSet, string deviceName, ref Guid classGuid,
            string deviceDescription, IntPtr hwndParent, int creationFlags, ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiOpenDeviceInfoW(IntPtr deviceInfoSet, string deviceInstanceId, IntPtr hwndParent,
            int openFlags, ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiSetDeviceRegistryPropertyW(IntPtr deviceInfoSet, ref SP_DEVINFO_DATA deviceInfoData,
            int property, byte[] propertyBuffer, int propertyBufferSize);

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern bool SetupDiCallClassInstaller(int installFunction, IntPtr deviceInfoSet,
            ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern bool SetupDiRemoveDevice(IntPtr deviceInfoSet, ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern bool SetupDiDestroyDeviceInfoList(IntPtr deviceInfoSet);

        [DllImport("newdev.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool UpdateDriverForPlugAndPlayDevicesW(IntPtr hwndParent, string hardwareId,
            string fullInfPath, int installFlags, out bool rebootRequired);

        private const int DICD_GENERATE_ID = 0x1;
        private const int SPDRP_HARDWAREID = 0x1;
        private const int DIF_REGISTERDEVICE = 0x19;
        private static readonly Guid NetClass = new Guid("4d36e972-e325-11ce-bfc1-08002be10318");
        private const string HardwareId = "*MSLOOP";

        private static IntPtr NewSet()
        {
            Guid netClass = NetClass;
            IntPtr set = SetupDiCreateDeviceInfoList(ref netClass, IntPtr.Zero);
            if (set == new IntPtr(-1))
                throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCreateDeviceInfoList");
            return set;
        }

        // Returns whether the driver install asked for a reboot.
        public static bool Install(string infPath)
        {
            IntPtr set = NewSet();
            try
            {
                Guid netClass = NetClass;
                SP_DEVINFO_DATA data = new SP_DEVINFO_DATA();
                data.cbSize = Marshal.SizeOf(typeof(SP_DEVINFO_DATA));
                if (!SetupDiCreateDeviceInfoW(set, "NET", ref netClass, null, IntPtr.Zero, DICD_GENERATE_ID, ref data))
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCreateDeviceInfo");
                byte[] ids = Encoding.Unicode.GetBytes(HardwareId + "\0\0");
                if (!SetupDiSetDeviceRegistryPropertyW(set, ref data, SPDRP_HARDWAREID, ids, ids.Length))
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiSetDeviceRegistryProperty");
                if (!SetupDiCallClassInstaller(DIF_REGISTERDEVICE, set, ref data))
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCallClassInstaller(DIF_REGISTERDEVICE)");
            }
            finally
            {
                SetupDiDestroyDeviceInfoList(set);
            }
            bool reboot;
            if (!UpdateDriverForPlugAndPlayDevicesW(IntPtr.Zero, HardwareId, infPath, 0, out reboot))
                throw new Win32Exception(Marshal.GetLastWin32Error(), "UpdateDriverForPlugAndPlayDevices");
            return reboot;
        }

        public static void Remove(string instanceId)
        {
            IntPtr set = NewSet();
            try
            {
                SP_DEVINFO_DATA data = new SP_DEVINFO_DATA();
                data.cbSize = Marshal.SizeOf(typeof(SP_DEVINFO_DATA));
                if (!SetupDiOpenDeviceInfoW(set, instanceId, IntPtr.Zero, 0, ref data))
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiOpenDeviceInfo");
                if (!SetupDiRemoveDevice(set, ref data))
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiRemoveDevice");
            }
            finally
            {
                SetupDiDestroyDeviceInfoList(set);
            }
        }
    }
}
'@

function Get-Loopback {
    Get-NetAdapter -ErrorAction SilentlyContinue |
        Where-Object { $_.InterfaceDescription -like 'Microsoft KM-TEST Loopback Adapter*' }
}

function Invoke-Step {
    param($Step)
    switch ($Step.action) {
        'install_loopback' {
            Add-Type -TypeDefinition $loopbackCode
            $before = @(Get-Loopback | ForEach-Object { $_.InterfaceGuid })
            $inf = Join-Path $env:WINDIR 'inf\netloop.inf'
            if ([Lbstack.RealServer.LoopbackAdapter]::Install($inf)) { $module.Result.reboot_required = $true }
            $new = $null
            for ($i = 0; $i -lt 30 -and -not $new; $i++) {
                $new = Get-Loopback | Where-Object { $_.InterfaceGuid -notin $before } | Select-Object -First 1
                if (-not $new) { Start-Sleep -Seconds 1 }
            }
            if (-not $new) { throw 'the loopback adapter was installed, but no new adapter appeared within 30 s' }
            Rename-NetAdapter -Name $new.Name -NewName $Step.adapter
            # Its addresses are the VIPs, set by hand: no DHCP (nor an automatic address).
            Set-NetIPInterface -InterfaceAlias $Step.adapter -AddressFamily IPv4 -Dhcp Disabled -ErrorAction SilentlyContinue
        }
        'remove_loopback' {
            Add-Type -TypeDefinition $loopbackCode
            $adapter = Get-NetAdapter -Name $Step.adapter
            [Lbstack.RealServer.LoopbackAdapter]::Remove($adapter.PnPDeviceID)
        }
        'set_binding' {
            if ($Step.enabled) {
                Enable-NetAdapterBinding -Name $Step.adapter -ComponentID $Step.component
            }
            else {
                Disable-NetAdapterBinding -Name $Step.adapter -ComponentID $Step.component
            }
        }
        'disable_other_bindings' {
            Get-NetAdapterBinding -Name $Step.adapter |
                Where-Object { $_.Enabled -and $_.ComponentID -notin @($Step.keep) } |
                Disable-NetAdapterBinding
        }
        'add_address' {
            $family = if ($Step.family -eq 'ipv6') { 'IPv6' } else { 'IPv4' }
            New-NetIPAddress -InterfaceAlias $Step.adapter -AddressFamily $family -IPAddress $Step.address `
                -PrefixLength ([int]$Step.prefix) -SkipAsSource $true | Out-Null
        }
        'delete_address' {
            Remove-NetIPAddress -InterfaceAlias $Step.adapter -IPAddress $Step.address -Confirm:$false
        }
        'set_interface' {
            $family = if ($Step.family -eq 'ipv6') { 'IPv6' } else { 'IPv4' }
            $setting = @{ InterfaceAlias = $Step.adapter; AddressFamily = $family }
            switch ($Step.setting) {
                'weakhostreceive' { $setting.WeakHostReceive = $Step.value }
                'weakhostsend' { $setting.WeakHostSend = $Step.value }
                'dadtransmits' { $setting.DadTransmits = [uint32]$Step.value }
                default { throw "unknown interface setting '$($Step.setting)'" }
            }
            Set-NetIPInterface @setting
        }
        'add_firewall_rule' {
            New-NetFirewallRule -Name $Step.name -DisplayName $Step.name -Direction Inbound -Action Allow -Protocol TCP `
                -LocalAddress @($Step.addresses) -LocalPort @($Step.ports | ForEach-Object { [string]$_ }) -Profile Any | Out-Null
        }
        'set_firewall_rule' {
            Set-NetFirewallRule -Name $Step.name -Direction Inbound -Action Allow -Protocol TCP `
                -LocalAddress @($Step.addresses) -LocalPort @($Step.ports | ForEach-Object { [string]$_ }) -Profile Any
        }
        'remove_firewall_rule' {
            Remove-NetFirewallRule -Name $Step.name
        }
        default { throw "unknown step '$($Step.action)'" }
    }
}

foreach ($step in $steps) {
    try {
        Invoke-Step -Step $step
    }
    catch {
        $module.FailJson("step '$($step.command)' failed: $($_.Exception.Message)", $_)
    }
}
$module.ExitJson()
