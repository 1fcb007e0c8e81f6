// This js work is based on:
// Copyright (c) 2014, Serge S. Koval and contributors. See AUTHORS
// for more details.
//
// Changes from FAB's copy: Chinese texts; the confirmation dialog's 确定 answers only
// the AdminActions instance that opened it (FAB's list template makes one instance per
// click of a delete button, and every instance used to submit its own, possibly stale,
// URL); a confirmed delete POSTs the dialog's own form with the CSRF token
// (app/templates/appbuilder/general/confirm.html), so it works on every list page.

//------------------------------------------------------
// AdminActions holds methods to handle UI for actions
//------------------------------------------------------
var AdminActions = function() {

    var mode = '';  // 'multiple' | 'single' | 'delete'
    var action_name = '';
    var action_url = '';
    var row_checked_class = 'success';

    // Show the dialog; its 确定 runs this instance's pending action, and nothing else.
    function confirm_then_submit(text, as_html) {
        var modal = $('#modal-confirm');
        var body = $('.modal-text', modal);
        if (as_html) {
            body.html(text);
        }
        else {
            body.text(text);
        }
        $('#modal-confirm-ok').off('click.adminActions').on('click.adminActions', function(e) {
            e.preventDefault();
            submit_pending();
        });
        modal.modal('show');
    }

    function submit_pending() {
        if (mode === 'multiple') {
            form_submit();
        }
        else if (mode === 'single') {
            single_form_submit();
        }
        else if (mode === 'delete') {
            delete_form_submit();
        }
    }

    this.execute_multiple = function(name, confirmation) {
        mode = 'multiple';
        action_name = name;
        var selected = $('input.action_check:checked').length;

        if (selected == 0) {
            ab_alert('请至少选择一条记录');
            return false;
        }

        if (!!confirmation) {
            confirm_then_submit(confirmation, true);
        }
        else {
            form_submit();
        }
        return false;
    };

    function single_form_submit() {
        var form = $('#action_form');
        $(form).attr('action', action_url);
        form.trigger("submit");
        return false;
    }

    this.execute_single = function(url, confirmation) {
        mode = 'single';
        action_url = url;

        if (!!confirmation) {
            confirm_then_submit(confirmation, true);
        }
        else {
            single_form_submit();
        }
        return false;
    };

    this.execute_single_delete = function(url, confirmation) {
        mode = 'delete';
        action_url = url;
        confirm_then_submit(confirmation, false);
        return false;
    };

    // POST (never GET) with the CSRF token of confirm.html's form
    function delete_form_submit() {
        var form = $('#modal-confirm-form');
        form.attr('action', action_url);
        form.trigger('submit');
        return false;
    }

    function form_submit() {
        // Update hidden form and submit it
        var form = $('#action_form');
        $('#action', form).val(action_name);

        $('input.action_check', form).remove();
        $('input.action_check:checked').each(function() {
            form.append($(this).clone());
        });

        form.trigger('submit');
        return false;
    }

    //----------------------------------------------------
    // Event for checkbox with class "action_check_all"
    // will check all checkboxes with class "action_check
    //----------------------------------------------------
    $('.action_check_all').off('click.adminActions').on('click.adminActions', function() {
        $('.action_check').prop('checked', this.checked).trigger("change");
    });

    //----------------------------------------------------
    // Event for checkbox with class "action_check"
    // will add class 'active' to row
    //----------------------------------------------------
    $('.action_check').off('change.adminActions').on('change.adminActions', function() {
        $(this).closest('tr')[this.checked ? 'addClass' : 'removeClass'](row_checked_class);
    });

};

// A 删除 button carries the record's delete address (data-delete); its table (or, on a record's
// page, its toolbar) the question to ask. One listener for the page, not a script per row.
$(document).on('click', 'a[data-delete]', function(e) {
    e.preventDefault();
    var question = $(this).closest('[data-delete-question]').data('delete-question');
    return new AdminActions().execute_single_delete($(this).data('delete'), question);
});

// A row button the row refuses (views/list_table.py): a click, or Enter on it, says why.
$(document).on('click keydown', '.btn.refused', function(e) {
    if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') {
        return;
    }
    e.preventDefault();
    ab_alert($(this).data('why'));
});

// A record page's action button (appbuilder/general/widgets/show.html): its address in
// data-action, the question to ask first, if any, in data-confirmation.
$(document).on('click', 'a[data-action]', function(e) {
    e.preventDefault();
    return new AdminActions().execute_single($(this).data('action'), $(this).data('confirmation'));
});
