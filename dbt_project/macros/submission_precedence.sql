{#- The order of the submissions of one unit-quarter, the one that counts first: a spreadsheet
    before a Word report (a unit that sends both has its spreadsheet's figures used, the document
    is cross-checked against it), then the latest version. The rule and its reasons are in
    ingestion/pairing.py; the offline engine applies it through pairing.precedence_key. -#}
{% macro submission_precedence(relation) -%}
case {{ relation }}.source_format when 'docx' then 1 else 0 end, {{ relation }}.file_id desc
{%- endmacro %}
