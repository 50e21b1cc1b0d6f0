"""Inventories read as Ansible reads them, and the model site.yml's preflight computes from them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultSecret
from ansible.template import Templar
from ansible.vars.manager import VariableManager

from ansible_collections.lbstack.rabbitmq.plugins.action import preflight


def load(sources, vault_password=None, keep=None):
    """``(hostvars, groups)`` of the inventory ``sources`` (paths, later ones
    win), templated and decrypted; ``keep(name)`` selects the variables."""
    loader = DataLoader()
    if vault_password:
        loader.set_vault_secrets([("default", VaultSecret(vault_password))])
    inventory = InventoryManager(loader=loader, sources=[str(s) for s in sources])
    variables = VariableManager(loader=loader, inventory=inventory)
    hostvars = {}
    for host in inventory.get_hosts():
        raw = variables.get_vars(host=host)
        wanted = dict((k, raw[k]) for k in raw if keep is None or keep(k))
        hostvars[host.name] = Templar(loader=loader, variables=raw).template(wanted)
    groups = dict((name, [h.name for h in group.get_hosts()]) for name, group in inventory.groups.items())
    return hostvars, groups


def model_of(hostvars, groups, facts=None):
    """What site.yml's preflight computes for the inventory (its own code);
    ``facts(host)`` gives a host's gathered facts (none by default)."""
    def var(host, name, default=None):
        if default is None:
            default = preflight.BROKER_DEFAULTS.get(name)
        if name == "ansible_facts" and facts is not None:
            return facts(host)
        return hostvars[host].get(name, default)

    source = groups["load_balancers"][0]
    return preflight.compute_model(var, groups, "load_balancers", "rabbitmq",
                                   var(source, "lbstack_virtual_services"), source)
