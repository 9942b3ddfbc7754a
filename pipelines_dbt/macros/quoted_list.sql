{#- 'a', 'b', 'c': a list var as SQL string literals (the same on every engine). -#}
{% macro quoted_list(values) -%}
{%- for value in values %}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}
