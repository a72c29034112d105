"""Each link as the customer reads it: its name in the customer's words and what the
customer must do while it is open (sign, pay, be at home), by process and link.

Links not listed here (a redesign's new links) show the process's own link name and ask
nothing of the customer. Texts are English in code and translated where they are shown."""

from __future__ import annotations

from dataclasses import dataclass

from gridflow.texts import _

SIGN, PAY, BE_HOME = "sign", "pay", "be_home"


@dataclass(frozen=True)
class Words:
    name: str
    action: str | None = None


# What each action asks of the customer, as a sentence.
ACTIONS = {
    SIGN: _("Sign the contract: your account manager will bring it or send it to you."),
    PAY: _("Pay the connection fees: your account manager will tell you the amount."),
    BE_HOME: _("Be at the address (or send someone) so the visit can take place."),
}

WORDS: dict[tuple[str, str], Words] = {
    ("lv_residential_connection", "Activity_accept"): Words(
        _("We check your application and confirm how your home will be supplied")
    ),
    ("lv_residential_connection", "Activity_build_external_line"): Words(
        _("We build the line to your home")
    ),
    ("meter_installation", "Activity_install_meter"): Words(
        _("We install your meter and switch the power on"), BE_HOME
    ),
    ("lv_business_connection", "Activity_accept"): Words(_("We check your application")),
    ("lv_business_connection", "Activity_site_survey"): Words(
        _("We visit the site and draw up the supply scheme"), BE_HOME
    ),
    ("lv_business_connection", "Activity_reply_scheme"): Words(_("We send you the supply scheme")),
    ("lv_business_connection", "Activity_completion_inspection"): Words(
        _("We inspect the finished installation"), BE_HOME
    ),
    ("lv_business_connection", "Activity_confirm_fees"): Words(_("We confirm the fees")),
    ("lv_business_connection", "Activity_remind_payment"): Words(
        _("We wait for your payment"), PAY
    ),
    ("lv_business_connection", "Activity_sign_contract"): Words(
        _("You sign the supply contract"), SIGN
    ),
    ("hv_connection", "Activity_accept"): Words(_("We check your application")),
    ("hv_connection", "Activity_site_survey"): Words(_("We survey the site"), BE_HOME),
    ("hv_connection", "Activity_design_scheme"): Words(_("We design the supply scheme")),
    ("hv_connection", "Activity_countersign"): Words(
        _("Our departments approve the supply scheme")
    ),
    ("hv_connection", "Activity_revise_scheme"): Words(_("We revise the supply scheme")),
    ("hv_connection", "Activity_reply_scheme"): Words(_("We send you the supply scheme")),
    ("hv_connection", "Activity_review_design"): Words(_("We review your electrical design")),
    ("hv_connection", "Activity_request_design_changes"): Words(
        _("We ask you to change your design")
    ),
    ("hv_connection", "Activity_intermediate_inspection"): Words(
        _("We inspect the works under way"), BE_HOME
    ),
    ("hv_connection", "Activity_completion_inspection"): Words(
        _("We inspect the finished installation"), BE_HOME
    ),
    ("hv_connection", "Activity_remind_payment"): Words(_("We wait for your payment"), PAY),
    ("hv_connection", "Activity_sign_contract"): Words(_("You sign the supply contract"), SIGN),
    ("fault_repair", "Activity_accept"): Words(_("We take your fault report")),
    ("fault_repair", "Activity_dispatch"): Words(_("We send a repair crew")),
    ("fault_repair", "Activity_arrive"): Words(_("The crew arrives"), BE_HOME),
    ("fault_repair", "Activity_issue_materials"): Words(_("We fetch spare parts")),
    ("fault_repair", "Activity_restore"): Words(_("The crew restores your power")),
    ("fault_repair", "Activity_return_visit"): Words(_("We call you to check all is well")),
    ("fault_repair", "Activity_handle_dissatisfaction"): Words(_("We look into what went wrong")),
    ("ev_charger_installation", "Activity_accept"): Words(_("We check your request")),
    ("ev_charger_installation", "Activity_survey"): Words(
        _("We visit where the charger goes"), BE_HOME
    ),
    ("ev_charger_installation", "Activity_quote"): Words(
        _("We send you a quote and contract"), SIGN
    ),
    ("ev_charger_installation", "Activity_payment"): Words(_("We wait for your payment"), PAY),
    ("ev_charger_installation", "Activity_issue"): Words(_("We prepare the charger")),
    ("ev_charger_installation", "Activity_install"): Words(_("We install the charger"), BE_HOME),
    ("ev_charger_installation", "Activity_test"): Words(_("We test the charger")),
    ("ev_charger_installation", "Activity_return_visit"): Words(
        _("We call you to check all is well")
    ),
    ("pv_connection", "Activity_accept"): Words(_("We check your solar application")),
    ("pv_connection", "Activity_design"): Words(_("We design how your panels connect")),
    ("pv_connection", "Activity_reply_scheme"): Words(_("We send you the connection scheme")),
    ("pv_connection", "Activity_inspect"): Words(
        _("We inspect your installation before connecting"), BE_HOME
    ),
    ("pv_connection", "Activity_rectification"): Words(
        _("We tell you what to put right before connecting")
    ),
    ("pv_connection", "Activity_contract"): Words(
        _("You sign the electricity purchase contract"), SIGN
    ),
    ("pv_connection", "Activity_settlement"): Words(_("We set up payment for your power")),
    ("energy_efficiency", "Activity_accept"): Words(_("We check your request")),
    ("energy_efficiency", "Activity_audit"): Words(_("We audit your energy use"), BE_HOME),
    ("energy_efficiency", "Activity_propose"): Words(_("We propose savings measures")),
    ("energy_efficiency", "Activity_implement"): Words(_("We carry out the measures")),
    ("energy_efficiency", "Activity_verify"): Words(_("We check the savings")),
    ("energy_efficiency", "Activity_return_visit"): Words(_("We call you to check all is well")),
}


def words_for(process_id: str, element_id: str, link_name: str) -> Words:
    """The customer's words for a link (the link's own name when none are written)."""
    return WORDS.get((process_id, element_id), Words(link_name))
